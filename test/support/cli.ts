import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/preflight.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  /** Called with the stdout so far on every chunk; lets a test act (e.g. send SIGINT) at the right moment. */
  readonly onStdout?: (soFar: string, child: { kill(signal: NodeJS.Signals): boolean }) => void;
  /** Run as another uid/gid through setpriv (the OpenShift random-uid test). */
  readonly asUser?: { uid: number; gid: number };
  /** Start the CLI under this umask (through sh), to prove file modes do not depend on it. */
  readonly umask?: number;
  /** A hang bound: SIGKILL the process after this long (the result then has signal SIGKILL). Never the thing under test. */
  readonly killAfterMs?: number;
  /** Called once the process is spawned, e.g. to signal it when something outside its output happens. */
  readonly onSpawn?: (child: { kill(signal: NodeJS.Signals): boolean }) => void;
}

/**
 * Spawn the built CLI the way a pipeline runs it: no TTY, NO_COLOR, a minimal env that the test
 * controls completely (nothing leaks in from the developer's shell).
 */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const env = { PATH: process.env.PATH, NO_COLOR: '1', ...options.env };
  const [command, argv] = options.asUser
    ? [
        'setpriv',
        [
          '--reuid',
          String(options.asUser.uid),
          '--regid',
          String(options.asUser.gid),
          '--clear-groups',
          process.execPath,
          CLI,
          ...args,
        ],
      ]
    : [process.execPath, [CLI, ...args]];
  if (options.umask === undefined) return runCommand(command, argv, { ...options, env });
  return runCommand(
    'sh',
    ['-c', `umask ${options.umask.toString(8).padStart(3, '0')}; exec "$0" "$@"`, command, ...argv],
    { ...options, env },
  );
}

/** Spawn any command with exactly `env`, collecting its output. */
export function runCommand(command: string, argv: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? {},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bound =
      options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
