import dns from 'node:dns';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY } from '../../src/registry/backoff.ts';
import { imageManifest, memoryBlob, randomBlob } from '../support/blobs.ts';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type MainResult, runMain } from '../support/io.ts';
import { writeLayout } from '../support/layout.ts';
import { type RegistryHandle, startRegistry, writeCertificates } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

/**
 * Issue 14: "A test walks a table of failures × commands and asserts exit code, one line, no stack
 * without --debug". Every row runs main() in this process (test/support/io.ts), so that a host name
 * can fail to resolve without any real lookup (dns.lookup is stubbed) and the retries of a dead
 * registry do not wait out the production backoff.
 */

// The same number of attempts as in production (the bound under test), with millisecond pauses.
vi.mock(import('../../src/registry/backoff.ts'), async (importOriginal) => {
  const actual = await importOriginal();
  return { ...actual, DEFAULT_RETRY: { ...actual.DEFAULT_RETRY, baseMs: 1, maxMs: 4 } };
});

const UNRESOLVABLE = 'registry.example.test';

let registry: RegistryHandle;
let base: BusyboxBase;
let work: string;
let layoutDir: string;
let modelDir: string;
/** A 127.0.0.1 port that was bound and closed again: nothing listens there. */
let refusedHost: string;
/** HTTPS on 127.0.0.1 with a certificate from a CA nobody trusts. */
let untrusted: Server;
let untrustedHost: string;
/** Answers 503 to every request, for good; counts them by method and path. */
let failing: Server;
let failingHost: string;
const failingRequests = new Map<string, number>();
/** In front of the working registry: its log says whether anything was uploaded. */
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startRegistry();
  base = await pushBusyboxBase(registry);
  work = await mkdtemp(join(tmpdir(), 'preflight-failures-e2e-'));
  layoutDir = join(work, 'layout');
  await writeLayout(layoutDir, [
    { root: imageManifest([randomBlob(100_000), memoryBlob(Buffer.from('x'))]), ref: 'v1' },
  ]);
  modelDir = join(work, 'model');
  await mkdir(modelDir);
  await writeFile(join(modelDir, 'config.json'), '{"architectures": ["MistralForCausalLM"]}');
  await writeFile(join(modelDir, 'model.safetensors'), Buffer.alloc(50_000, 7));

  refusedHost = `127.0.0.1:${await closedPort()}`;

  const certs = join(work, 'certs');
  await mkdir(certs);
  await writeCertificates(certs);
  const [cert, key] = await Promise.all([
    readFile(join(certs, 'server.pem'), 'utf8'),
    readFile(join(certs, 'server.key'), 'utf8'),
  ]);
  untrusted = createHttpsServer({ cert, key }, (_req, res) => res.end());
  untrustedHost = await listen(untrusted);

  failing = createHttpServer((req, res) => {
    const key = `${req.method ?? ''} ${req.url ?? ''}`;
    failingRequests.set(key, (failingRequests.get(key) ?? 0) + 1);
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable' }] }));
  });
  failingHost = await listen(failing);

  proxy = await startFaultProxy(registry.url);
});

afterEach(() => {
  failingRequests.clear();
  proxy.reset();
  vi.restoreAllMocks();
});

afterAll(async () => {
  await Promise.all([
    proxy.close(),
    close(untrusted),
    close(failing),
    registry.stop(),
    rm(work, { recursive: true, force: true }),
  ]);
});

interface Command {
  readonly name: string;
  /** The command line pushing to `host`, with `extra` flags. */
  args(host: string, extra?: readonly string[]): string[];
}

const push: Command = {
  name: 'push',
  args: (host, extra = []) => ['push', `oci:${layoutDir}:v1`, `${host}/failures/push:v1`, ...extra],
};
const build: Command = {
  name: 'modelcar build',
  args: (host, extra = []) => [
    'modelcar',
    'build',
    '--model-dir',
    modelDir,
    '--image',
    `${host}/failures/build:v1`,
    '--base',
    base.reference,
    '--no-cache',
    ...extra,
  ],
};
const run: Command = {
  name: 'run',
  args: (host, extra = []) => [
    'run',
    '--model-dir',
    modelDir,
    '--image',
    `${host}/failures/run:v1`,
    '--base',
    base.reference,
    '--no-cache',
    '--only',
    'ecr-uri',
    ...extra,
  ],
};
const PUSHING = [push, build, run];

/** An environment with nothing of this machine's: no ~/.docker, no auth.json. */
async function cleanEnv(): Promise<Record<string, string>> {
  const home = await testdir();
  return { HOME: home, XDG_RUNTIME_DIR: home, XDG_CACHE_HOME: join(home, '.cache') };
}

/**
 * The answer every known failure gets: the exit code, and stderr ending in exactly one `error:` line
 * and one `hint:` line, with no stack and no "this is a bug".
 */
function expectOneAnswer(result: MainResult, code: number, error: RegExp, hint: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines.filter((line) => line.startsWith('error:'))).toEqual([expect.stringMatching(error)]);
  expect(lines.filter((line) => line.startsWith('hint:'))).toEqual([expect.stringMatching(hint)]);
  expect(lines.slice(-2).map((line) => line.split(':')[0])).toEqual(['error', 'hint']);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toMatch(/This is a bug|internal error/);
  expect(result.code).toBe(code);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Failure {
  readonly name: string;
  readonly host: () => string;
  readonly error: () => RegExp;
  readonly hint: RegExp;
  /** Set up before the command runs (a stub), checked after it. */
  readonly arrange?: () => () => void;
}

const FAILURES: readonly Failure[] = [
  {
    name: 'a registry that refuses the connection',
    host: () => refusedHost,
    error: () => new RegExp(`^error: ${escape(refusedHost)} refused the connection \\(ECONNREFUSED\\)$`),
    hint: /^hint: is the registry running there\? check the host name and port$/,
  },
  {
    name: 'a host name that does not resolve',
    host: () => `${UNRESOLVABLE}:5000`,
    error: () => new RegExp(`^error: cannot resolve ${escape(UNRESOLVABLE)} \\(ENOTFOUND\\)$`),
    hint: /^hint: .*host name.*VPN.*DNS and proxy settings/,
    arrange: () => {
      const looked = stubDnsLookup();
      return () => {
        expect(looked.length).toBeGreaterThan(0);
        expect(new Set(looked)).toEqual(new Set([UNRESOLVABLE]));
      };
    },
  },
  {
    name: 'a registry whose TLS certificate is not trusted',
    host: () => untrustedHost,
    error: () => new RegExp(`^error: the TLS certificate of ${escape(untrustedHost)} is not trusted \\([A-Z_]+\\)$`),
    hint: /^hint: .*--ca-file.*NODE_EXTRA_CA_CERTS/,
  },
  {
    name: 'a registry that answers 503 for good',
    host: () => failingHost,
    // A HEAD's answer has no body to quote; a streamed modelcar layer starts with its POST.
    error: () =>
      new RegExp(
        `^error: (cannot start an upload for .*: )?${escape(failingHost)}: (HEAD|POST) /v2/failures/\\S+ answered 503( \\(UNAVAILABLE: service unavailable\\))?$`,
      ),
    hint: /^hint: .*failing \(HTTP 503\) and kept failing through the retries/,
    arrange: () => () => {
      // Retried, and bounded: no request more often than the policy's attempts, one of them exactly
      // (the model is one layer, so a build opens one upload at a time: one POST path, one count).
      const counts = [...failingRequests.values()];
      expect(Math.max(...counts)).toBe(DEFAULT_RETRY.attempts);
      expect(counts.every((n) => n <= DEFAULT_RETRY.attempts)).toBe(true);
      expect([...failingRequests.keys()].filter((key) => /^(PATCH|PUT) /.test(key))).toEqual([]);
    },
  },
];

describe('failures × commands: exit code, one error line, one hint, no stack (issue 14)', { timeout: 120_000 }, () => {
  it.each(
    FAILURES.flatMap((failure) => PUSHING.map((command) => [command.name, failure.name, command, failure] as const)),
  )('%s: %s → exit 1', async (_command, _failure, command, failure) => {
    const verify = failure.arrange?.();
    const result = await runMain(command.args(failure.host()), { env: await cleanEnv() });
    expectOneAnswer(result, 1, failure.error(), failure.hint);
    expect(result.stdout).toBe('');
    verify?.();
  });

  const OUTPUTS: readonly (readonly [Command, string])[] = [
    [push, '--digest-file'],
    [build, '--digest-file'],
    [run, '--image-uri-file'],
    [run, '--report-file'],
  ];
  // Under a regular file: ENOTDIR for root too, where a 0500 folder would not stop the write.
  it.each(OUTPUTS.map(([command, flag]) => [command.name, flag, command] as const))(
    '%s %s in a folder that cannot exist → exit 2 before any upload',
    async (_name, flag, command) => {
      const dir = await testdir({ 'a-file': 'not a folder' });
      const path = join(dir, 'a-file', 'out');
      const result = await runMain(command.args(proxy.host, [flag, path]), { env: await cleanEnv() });
      expectOneAnswer(
        result,
        2,
        new RegExp(`^error: cannot write ${flag} ${escape(path)} \\(ENOTDIR\\): nothing was pushed$`),
        /^hint: \S/,
      );
      expect(result.stdout).toBe('');
      expect(proxy.log.filter((entry) => entry.method !== 'GET' && entry.method !== 'HEAD')).toEqual([]);
    },
  );

  it('check --output-file in a folder that cannot exist → exit 2 before any check runs', async () => {
    const dir = await testdir({ 'a-file': 'not a folder' });
    const path = join(dir, 'a-file', 'report.json');
    const result = await runMain(['check', '--only', 'ecr-uri', '-o', 'json', '--output-file', path], {
      env: await cleanEnv(),
    });
    expectOneAnswer(
      result,
      2,
      new RegExp(`^error: cannot write --output-file ${escape(path)} \\(ENOTDIR\\): no check was run$`),
      /^hint: \S/,
    );
    // Nothing ran: no live view, no report.
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/ecr-uri/);
  });

  const BAD_FLAGS: readonly (readonly [string, () => string[], RegExp])[] = [
    [
      'push --concurrency 0',
      () => push.args(refusedHost, ['--concurrency', '0']),
      /^error: --concurrency: "0" is not a number from 1 to 64$/,
    ],
    [
      'modelcar build --chunk-size abc',
      () => build.args(refusedHost, ['--chunk-size', 'abc']),
      /^error: --chunk-size: "abc" is not a size$/,
    ],
    ['run --no-such-flag', () => run.args(refusedHost, ['--no-such-flag']), /^error: unknown option '--no-such-flag'$/],
    ['check --concurrency 0', () => ['check', '--concurrency', '0'], /^error: --concurrency: .*\b0\b/],
    [
      'modelcar build without --model-dir',
      () => ['modelcar', 'build', '--image', `${refusedHost}/x:v1`],
      /^error: --model-dir is required$/,
    ],
  ];
  it.each(BAD_FLAGS)('%s → exit 2, one line', async (_name, args, error) => {
    const result = await runMain(args(), { env: await cleanEnv() });
    expectOneAnswer(result, 2, error, /^hint: \S/);
    expect(result.stdout).toBe('');
  });

  it('with --debug the same failure shows its stack, causes included', async () => {
    const result = await runMain(['--debug', ...push.args(refusedHost)], { env: await cleanEnv() });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines.filter((line) => line.startsWith('error:'))).toEqual([
      `error: ${refusedHost} refused the connection (ECONNREFUSED)`,
    ]);
    expect(result.stderr).toMatch(/^NetworkError: .*\n\s+at /m);
    expect(result.stderr).toMatch(/^caused by: .*ECONNREFUSED/m);
    expect(result.stderr).not.toMatch(/This is a bug/);
  });
});

/**
 * Every host name fails to resolve (ENOTFOUND), and none is looked up for real: undici connects
 * through net, which calls dns.lookup. Returns the names asked for.
 */
function stubDnsLookup(): string[] {
  const looked: string[] = [];
  const lookup = (hostname: string, ...rest: unknown[]): void => {
    looked.push(hostname);
    const callback = rest.at(-1);
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: 'ENOTFOUND',
      errno: -3008,
      syscall: 'getaddrinfo',
      hostname,
    });
    if (typeof callback === 'function')
      process.nextTick(() => {
        Reflect.apply(callback, undefined, [error]);
      });
  };
  vi.spyOn(dns, 'lookup').mockImplementation(lookup);
  return looked;
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error(`unexpected address ${String(address)}`);
  return `127.0.0.1:${address.port}`;
}

async function close(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

/** A port the kernel handed out and that was closed again: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error(`unexpected address ${String(address)}`);
  const closed = once(server, 'close');
  server.close();
  await closed;
  return address.port;
}
