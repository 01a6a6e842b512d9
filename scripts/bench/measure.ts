// Run one command and measure what the benchmark tables report: wall time, peak RSS of the process
// tree's largest member (GNU time's %M), and the peak bytes it kept under its own TMPDIR.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, lstat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Measurement {
  readonly wallMs: number;
  /** Peak resident set size in bytes, as GNU time reports it (the largest process). */
  readonly peakRss: number;
  /** The most bytes found under the command's private TMPDIR while it ran (polled every 100 ms). */
  readonly peakTemp: number;
  readonly stdout: string;
}

export async function measure(
  command: string,
  args: readonly string[],
  options: { readonly env?: Record<string, string | undefined>; readonly cwd?: string } = {},
): Promise<Measurement> {
  const temp = await mkdtemp(join(tmpdir(), 'preflight-bench-tmp-'));
  const timeFile = join(temp, '..', `${temp.split('/').pop() ?? 'x'}.time`);
  let peakTemp = 0;
  const sampling = new AbortController();
  // Sampling is the only way to see temp files a tool creates and deletes again (skopeo's extract).
  const poller = (async () => {
    while (!sampling.signal.aborted) {
      peakTemp = Math.max(peakTemp, await treeSize(temp));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  try {
    const stdout = await run('/usr/bin/time', ['-f', '%M', '-o', timeFile, command, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env, TMPDIR: temp },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const wallMs = performance.now() - started;
    sampling.abort();
    await poller;
    const kib = Number((await readFile(timeFile, 'utf8')).trim().split('\n').pop());
    return { wallMs, peakRss: kib * 1024, peakTemp, stdout };
  } finally {
    sampling.abort();
    await rm(temp, { recursive: true, force: true });
    await rm(timeFile, { force: true });
  }
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0; // removed while we looked
  }
  for (const name of entries) {
    const path = join(dir, name);
    const stat = await lstat(path).catch(() => undefined);
    if (stat === undefined) continue;
    total += stat.isDirectory() ? await treeSize(path) : stat.size;
  }
  return total;
}

export function run(
  command: string,
  args: readonly string[],
  options: { readonly env?: Record<string, string | undefined>; readonly cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${String(code)}: ${stderr}`));
    });
  });
}
