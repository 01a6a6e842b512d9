import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { access, constants, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { writeCertificates as writeCertificatesFor } from './certificates.ts';
import { installExitHook, liveChildren, liveDirs } from './leftovers.ts';
import { fsyncFreeRoot } from './tmpfs.ts';

export interface RegistryOptions {
  readonly auth?: 'htpasswd';
  readonly tls?: boolean;
  readonly username?: string;
  readonly password?: string;
  /** The registry binary; by default docker-registry on PATH, then /usr/bin. Lets a test see the not-installed error. */
  readonly binary?: string;
  /**
   * Where its data lives: `fsync-free` (tmpfs, the default for tests, see fsyncFreeRoot) or `disk` (the
   * OS temp dir): benchmarks push gigabytes, which must neither fill memory nor skip the disk a real
   * registry writes to.
   */
  readonly storage?: 'fsync-free' | 'disk';
}

export interface RegistryHandle {
  /** `127.0.0.1:PORT`, the form an image reference uses. */
  readonly host: string;
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM of the CA that signed the server certificate, when `tls`. */
  readonly caFile?: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const PORT_ATTEMPTS = 5;
// A hang bound, not a speed limit: the registry answers within a second on an idle machine, but a
// busy one may not schedule it for many seconds (100 polls, about 10 s, were once the bound).
const READY_BOUND_MS = 60_000;

/**
 * A real CNCF distribution registry on a free 127.0.0.1 port, in its own temp dir, optionally with
 * htpasswd auth (random password) and TLS (a throwaway CA). Resolves once `GET /v2/` answers.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryHandle> {
  const binary = await findRegistryBinary(options.binary);
  // distribution fsyncs every write of an upload: see fsyncFreeRoot.
  const dir = await mkdtemp(join(options.storage === 'disk' ? tmpdir() : await fsyncFreeRoot(), 'preflight-registry-'));
  installExitHook();
  liveDirs.add(dir);
  try {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const credentials = options.auth === 'htpasswd' ? await writeHtpasswd(dir, options) : undefined;
    const tls = options.tls === true ? await writeCertificates(dir) : undefined;
    for (let attempt = 1; ; attempt++) {
      const host = `127.0.0.1:${await freePort()}`;
      const url = `${tls ? 'https' : 'http'}://${host}`;
      const configFile = join(dir, 'config.yml');
      await writeFile(configFile, stringify(registryConfig(host, dir, credentials !== undefined, tls !== undefined)));
      const server = new RegistryProcess(binary, configFile, dir);
      const outcome = await server.waitUntilReady(url, tls?.ca).catch(async (error: unknown) => {
        await server.stop();
        throw error;
      });
      if (outcome === 'ready') {
        return {
          host,
          url,
          dataDir,
          ...credentials,
          ...(tls && { caFile: tls.caFile }),
          stop: async () => {
            await server.stop();
            await rm(dir, { recursive: true, force: true });
            liveDirs.delete(dir);
          },
        };
      }
      await server.stop();
      // Another process took the port between our probe and the registry's bind: pick another.
      if (attempt === PORT_ATTEMPTS)
        throw new Error(`docker-registry could not bind a free port in ${PORT_ATTEMPTS} attempts`);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw error;
  }
}

/** `['--creds', 'user:pass']` for a registry with auth, `[]` otherwise; `flag` picks e.g. `--dest-creds`. */
export function registryCredentialsArgs(handle: RegistryHandle, flag = '--creds'): string[] {
  return handle.username === undefined || handle.password === undefined
    ? []
    : [flag, `${handle.username}:${handle.password}`];
}

/**
 * Run skopeo isolated from the developer's machine: its own HOME (no ~/.docker or auth.json) and an
 * accept-anything policy file. TLS flags are the caller's business.
 */
export async function skopeo(args: readonly string[], options: { readonly cwd?: string } = {}): Promise<CommandResult> {
  // Its TMPDIR, where skopeo may spool blobs: off a busy disk too (see fsyncFreeRoot).
  const home = await mkdtemp(join(await fsyncFreeRoot(), 'preflight-skopeo-'));
  try {
    const policy = join(home, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      XDG_RUNTIME_DIR: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      TMPDIR: home,
    };
    return await run('skopeo', ['--policy', policy, ...args], { env, ...options });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** One running registry process; its output is kept (last 8 KiB) for error messages. */
class RegistryProcess {
  readonly #child: ChildProcess;
  #output = '';
  // Aborted when the process is gone, so a poll stuck on whatever else holds the port ends at once.
  readonly #gone = new AbortController();

  constructor(binary: string, configFile: string, cwd: string) {
    // Only PATH: REGISTRY_* variables from the developer's shell would override the config.
    this.#child = spawn(binary, ['serve', configFile], {
      cwd,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(this.#child);
    this.#child.once('exit', () => liveChildren.delete(this.#child));
    const keep = (chunk: string): void => void (this.#output = (this.#output + chunk).slice(-8192));
    this.#child.stdout?.setEncoding('utf8').on('data', keep);
    this.#child.stderr?.setEncoding('utf8').on('data', keep);
    // 'close', not 'exit': the bind error must be read from stderr before the outcome is decided.
    this.#child.once('close', () => this.#gone.abort());
    this.#child.once('error', (error) => {
      keep(`spawn failed: ${error.message}`);
      this.#gone.abort();
    });
  }

  /** Poll `GET /v2/` until a registry answers; `port-taken` when it exited because the port was in use. */
  async waitUntilReady(url: string, ca: string | undefined): Promise<'ready' | 'port-taken'> {
    const dispatcher = new Agent(ca === undefined ? {} : { connect: { ca } });
    let lastError: unknown;
    try {
      const deadline = performance.now() + READY_BOUND_MS;
      for (let attempt = 1; performance.now() < deadline; attempt++) {
        if (this.#gone.signal.aborted) {
          if (this.#output.includes('address already in use')) return 'port-taken';
          throw new Error(`docker-registry exited before it was ready: ${this.#output}`);
        }
        try {
          const res = await request(`${url}/v2/`, {
            dispatcher,
            signal: this.#gone.signal,
            headersTimeout: 5000,
            bodyTimeout: 5000,
          });
          await res.body.dump();
          // Anything else answering on the port is not our registry: keep waiting for it to exit.
          if (res.headers['docker-distribution-api-version'] === 'registry/2.0') return 'ready';
        } catch (error) {
          lastError = error;
        }
        await delay(Math.min(5 * attempt, 100));
      }
    } finally {
      await dispatcher.close();
    }
    throw new Error(
      `docker-registry did not answer GET ${url}/v2/ within ${READY_BOUND_MS} ms (${String(lastError)}): ${this.#output}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null || this.#gone.signal.aborted) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

async function findRegistryBinary(explicit: string | undefined): Promise<string> {
  const candidates =
    explicit === undefined
      ? [
          ...(process.env.PATH ?? '')
            .split(delimiter)
            .filter(Boolean)
            .map((dir) => join(dir, 'docker-registry')),
          '/usr/bin/docker-registry',
        ]
      : [explicit];
  for (const candidate of candidates) {
    if (await isExecutable(candidate)) return candidate;
  }
  throw new Error('docker-registry is not installed: run npm run setup');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch (error) {
    if (
      error instanceof Error &&
      'code' in error &&
      (error.code === 'ENOENT' || error.code === 'EACCES' || error.code === 'ENOTDIR')
    )
      return false;
    throw error;
  }
}

/** A port the kernel just handed out on 127.0.0.1; free now, but another process may take it first. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error(`unexpected listen address ${String(address)}`));
      });
    });
  });
}

function registryConfig(host: string, dir: string, htpasswd: boolean, tls: boolean): object {
  return {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      // The purger would otherwise wake up during long runs and log about it.
      maintenance: { uploadpurging: { enabled: false } },
    },
    // A fixed secret signs the upload _state tokens; without one the registry invents one and warns.
    http: {
      addr: host,
      secret: randomBytes(24).toString('hex'),
      ...(tls && { tls: { certificate: join(dir, 'server.pem'), key: join(dir, 'server.key') } }),
    },
    ...(htpasswd && { auth: { htpasswd: { realm: 'preflight-test', path: join(dir, 'htpasswd') } } }),
  };
}

async function writeHtpasswd(dir: string, options: RegistryOptions): Promise<{ username: string; password: string }> {
  const username = options.username ?? 'preflight';
  const password = options.password ?? randomBytes(18).toString('base64url');
  // -i reads the password on stdin, so it never shows in a process listing.
  const result = await run('htpasswd', ['-iBn', username], { input: password });
  if (result.code !== 0) throw new Error(`htpasswd failed (${String(result.code)}): ${result.stderr}`);
  await writeFile(join(dir, 'htpasswd'), `${result.stdout.trim()}\n`, { mode: 0o600 });
  return { username, password };
}

/** A throwaway CA and a server certificate for 127.0.0.1 in `dir` (server.pem, server.key). */
export async function writeCertificates(dir: string): Promise<{ caFile: string; ca: string }> {
  const { caFile, ca } = await writeCertificatesFor(dir, {
    subjectAltName: 'IP:127.0.0.1',
    commonName: '127.0.0.1',
    caName: 'preflight test CA',
  });
  return { caFile, ca };
}

function run(
  command: string,
  args: readonly string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? { PATH: process.env.PATH },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      reject(
        error instanceof Error && 'code' in error && error.code === 'ENOENT'
          ? new Error(`${command} is not installed: run npm run setup`)
          : error,
      );
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
