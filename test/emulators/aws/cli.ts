import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, runCommand } from '../../support/cli.ts';
import type { AwsEmulator } from './server.ts';
import type { Identity } from './state.ts';

/** Debian's awscli (what `npm run setup` installs); a pip-installed v1 earlier on PATH is not it. */
export const AWS_CLI = '/usr/bin/aws';

/** `aws-cli/2.9.19 …` when Debian's aws CLI is installed, undefined otherwise. */
export function awsCliVersion(): string | undefined {
  if (!existsSync(AWS_CLI)) return undefined;
  return execFileSync(AWS_CLI, ['--version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: tmpdir() } })
    .trim()
    .split(/\s/)[0];
}

/**
 * Loaded by the CLI's Python before anything else (PYTHONPATH): a name lookup of anything but
 * loopback never reaches the machine's resolver. It is refused and written to the log, which
 * also records that the guard was loaded at all.
 */
const SITECUSTOMIZE = `
import os, socket
_log = os.environ['PREFLIGHT_DNS_LOG']
_real = socket.getaddrinfo
_loopback = {'127.0.0.1', 'localhost', '::1', None}
def _note(line):
    with open(_log, 'a') as f:
        f.write(line + '\\n')
def getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _loopback:
        _note('lookup ' + str(name))
        raise socket.gaierror(socket.EAI_NONAME, 'lookup refused by the test guard')
    return _real(host, *args, **kwargs)
def gethostbyname(host):
    _note('lookup ' + str(host))
    raise socket.gaierror(socket.EAI_NONAME, 'lookup refused by the test guard')
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
_note('guard loaded')
`;

/**
 * A loopback port that takes connections, records what the client sent first (a proxy's CONNECT
 * line) and drops them: every proxy setting points here, so a request that is not for the
 * emulator fails closed and is seen.
 */
export interface DeadProxy {
  readonly url: string;
  /** The first bytes of each connection, as text. */
  readonly received: string[];
  close(): Promise<void>;
}

export async function startDeadProxy(): Promise<DeadProxy> {
  const received: string[] = [];
  const server: Server = createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      received.push(chunk.toString('latin1'));
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    // A client that connects and sends nothing is recorded too.
    socket.on('close', () => {
      if (socket.bytesRead === 0) received.push('');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    close: async () => {
      server.close();
      await once(server, 'close');
    },
  };
}

export interface AwsCli {
  /** Run `aws ARGS --endpoint-url <emulator> --output json` as `identity`. */
  run(identity: Identity, args: readonly string[]): Promise<CliResult>;
  /** Run `aws ARGS` with no endpoint override: only to prove a stray request ends at the dead proxy. */
  runWithoutEndpoint(identity: Identity, args: readonly string[]): Promise<CliResult>;
  /** What the name-lookup guard recorded: `guard loaded` once per run, `lookup NAME` for each refused lookup. */
  dnsLog(): Promise<string[]>;
  readonly proxy: DeadProxy;
  close(): Promise<void>;
}

/**
 * The real aws CLI against the emulator, made unable to reach AWS: AWS CLI before 2.13 ignores
 * AWS_ENDPOINT_URL, so every run passes --endpoint-url explicitly; HTTPS_PROXY/HTTP_PROXY point at a
 * dead loopback port with NO_PROXY for loopback only, so anything else goes to that port instead of
 * being resolved; and a Python guard refuses any non-loopback name lookup. No shared config, no
 * instance metadata, a private HOME.
 */
export async function startAwsCli(aws: AwsEmulator): Promise<AwsCli> {
  const home = await mkdtemp(join(tmpdir(), 'preflight-awscli-'));
  const guard = join(home, 'guard');
  const log = join(home, 'dns.log');
  await mkdir(guard);
  await writeFile(join(guard, 'sitecustomize.py'), SITECUSTOMIZE);
  await writeFile(log, '');
  const proxy = await startDeadProxy();
  const env = (identity: Identity): Record<string, string> => {
    // AWS_ENDPOINT_URL is left out: this CLI ignores it, and a test must not seem to rely on it.
    const rest = Object.entries(aws.env(identity)).filter(([name]) => name !== 'AWS_ENDPOINT_URL');
    return {
      ...Object.fromEntries(rest),
      PATH: '/usr/bin:/bin',
      HOME: home,
      PYTHONPATH: guard,
      PREFLIGHT_DNS_LOG: log,
      AWS_PAGER: '',
      AWS_CLI_AUTO_PROMPT: 'off',
      // One attempt: the double injects no faults here, and a stray request should fail at once.
      AWS_MAX_ATTEMPTS: '1',
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
      https_proxy: proxy.url,
      http_proxy: proxy.url,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
  };
  const dnsLog = async (): Promise<string[]> => (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
  return {
    proxy,
    dnsLog,
    run: (identity, args) =>
      runCommand(AWS_CLI, [...args, '--endpoint-url', aws.url, '--output', 'json'], {
        env: env(identity),
        killAfterMs: 300_000,
      }),
    runWithoutEndpoint: async (identity, args) => {
      // Only once the guard has shown it loads: without it a stray lookup could reach the resolver.
      if (!(await dnsLog()).includes('guard loaded')) throw new Error('the name-lookup guard has not loaded');
      return runCommand(AWS_CLI, [...args, '--output', 'json'], { env: env(identity), killAfterMs: 300_000 });
    },
    close: async () => {
      await proxy.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
