import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CredentialError, lookupCredentials } from '../../src/registry/credentials.ts';
import { testdir } from '../support/testdir.ts';

const secret = (): string => `pw-${randomUUID()}`;
const b64 = (text: string): string => Buffer.from(text).toString('base64');

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('lookupCredentials', () => {
  it.each([
    ['a bare host key', 'quay.io'],
    ['an https URL key', 'https://quay.io'],
    ['a URL with a path', 'https://quay.io/v1/'],
  ])('reads auths with %s', async (_name, key) => {
    const password = secret();
    const dir = await testdir({
      'config.json': JSON.stringify({ auths: { [key]: { auth: b64(`robot:${password}`) } } }),
    });
    await expect(lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } })).resolves.toEqual({
      username: 'robot',
      password,
      source: 'DOCKER_CONFIG/config.json',
    });
  });

  it('maps docker.io to the index.docker.io key docker login writes', async () => {
    const password = secret();
    const dir = await testdir({
      'config.json': JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64(`me:${password}`) } } }),
    });
    await expect(lookupCredentials('docker.io', { env: { DOCKER_CONFIG: dir } })).resolves.toMatchObject({
      username: 'me',
      password,
    });
  });

  it('returns undefined (anonymous) when nothing matches', async () => {
    const dir = await testdir({ 'config.json': JSON.stringify({ auths: { 'quay.io': { auth: b64('a:b') } } }) });
    await expect(lookupCredentials('ghcr.io', { env: { DOCKER_CONFIG: dir, HOME: dir } })).resolves.toBeUndefined();
  });

  it('falls through to REGISTRY_AUTH_FILE, then containers/auth.json', async () => {
    const [p1, p2] = [secret(), secret()];
    const dir = await testdir({
      'docker/config.json': JSON.stringify({ auths: {} }),
      'auth-file.json': JSON.stringify({ auths: { 'a.example': { auth: b64(`u1:${p1}`) } } }),
      'run/containers/auth.json': JSON.stringify({ auths: { 'b.example': { auth: b64(`u2:${p2}`) } } }),
    });
    const env = {
      DOCKER_CONFIG: join(dir, 'docker'),
      REGISTRY_AUTH_FILE: join(dir, 'auth-file.json'),
      XDG_RUNTIME_DIR: join(dir, 'run'),
    };
    await expect(lookupCredentials('a.example', { env })).resolves.toMatchObject({
      username: 'u1',
      password: p1,
      source: 'REGISTRY_AUTH_FILE',
    });
    await expect(lookupCredentials('b.example', { env })).resolves.toMatchObject({
      username: 'u2',
      password: p2,
      source: '$XDG_RUNTIME_DIR/containers/auth.json',
    });
  });

  it('runs a real credential helper with the host on stdin, nothing secret on argv', async () => {
    const password = secret();
    const dir = await testdir({ 'config.json': JSON.stringify({ credHelpers: { 'ecr.example': 'fake' } }) });
    const helper = join(dir, 'docker-credential-fake');
    // The helper records its argv and stdin so the test can check what it was given.
    await writeFile(
      helper,
      `#!/bin/sh\necho "$@" > "${dir}/argv"\nread host\necho "$host" > "${dir}/stdin"\nprintf '{"ServerURL":"%s","Username":"AWS","Secret":"${password}"}' "$host"\n`,
    );
    await chmod(helper, 0o755);
    vi.stubEnv('PATH', `${dir}:${process.env.PATH ?? ''}`);
    await expect(lookupCredentials('ecr.example', { env: { DOCKER_CONFIG: dir } })).resolves.toEqual({
      username: 'AWS',
      password,
      source: 'docker-credential-fake',
    });
    expect((await readFile(join(dir, 'argv'), 'utf8')).trim()).toBe('get');
    expect((await readFile(join(dir, 'stdin'), 'utf8')).trim()).toBe('ecr.example');
  });

  it.each([
    ['not JSON', (s: string) => `Secret=${s}`],
    ['the wrong JSON', (s: string) => JSON.stringify({ Username: 7, Secret: s })],
  ])('refuses a credential helper answer that is %s without echoing it', async (_name, answer) => {
    const password = secret();
    const dir = await testdir({ 'config.json': JSON.stringify({ credsStore: 'fake' }) });
    const error: unknown = await lookupCredentials('quay.io', {
      env: { DOCKER_CONFIG: dir },
      runHelper: () => Promise.resolve(answer(password)),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      exitCode: 2,
      message: 'docker-credential-fake returned an unexpected answer for quay.io',
    });
    expect(String(error)).not.toContain(password);
  });

  it.each([
    ['invalid JSON', '{', /is not valid JSON/],
    // V8 quotes the text near a syntax error: the message must not.
    [
      'invalid JSON after a secret',
      `{"auths":{"quay.io":{"auth":"${b64('nocolon')}"}} x`,
      /is not valid JSON \(at position \d+/,
    ],
    [
      'an auth that is not user:password',
      JSON.stringify({ auths: { 'quay.io': { auth: b64('nocolon') } } }),
      /not base64 of "user:password"/,
    ],
    ['a wrong shape', JSON.stringify({ auths: 'quay.io' }), /unexpected shape: auths must be Object/],
    [
      'a secret where an object belongs',
      JSON.stringify({ auths: { 'quay.io': b64('nocolon') } }),
      /unexpected shape: auths\.quay\.io must be Object/,
    ],
  ])('rejects %s naming the file, without echoing secrets', async (_name, content, message) => {
    const dir = await testdir({ 'config.json': content });
    const error: unknown = await lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 2 });
    expect(error instanceof Error ? error.message : '').toMatch(message);
    expect(error instanceof Error ? error.message : '').not.toContain(b64('nocolon'));
  });
});

describe('a docker config.json that is not a small regular file (issue 13, case 5)', () => {
  it.each([
    [
      'a link to /dev/zero',
      async (path: string) => symlink('/dev/zero', path),
      /cannot read DOCKER_CONFIG\/config\.json \(.*\): .*not a regular file/,
    ],
    [
      'a directory',
      async (path: string) => mkdir(path),
      /cannot read DOCKER_CONFIG\/config\.json \(.*\): .*not a regular file/,
    ],
    [
      'a 5 MiB file',
      async (path: string) => writeFile(path, `{"auths":{},"x":"${'a'.repeat(5 * 2 ** 20)}"}`),
      /cannot read DOCKER_CONFIG\/config\.json \(.*\): .*bytes, above the limit of 4194304/,
    ],
  ])('%s: one line naming the file, memory bounded', async (_name, make, message) => {
    const dir = await testdir();
    await make(join(dir, 'config.json'));
    const before = process.memoryUsage().rss;
    const error: unknown = await lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } }).catch((e: unknown) => e);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
    expect(error).toMatchObject({ exitCode: 2 });
    expect(error instanceof Error ? error.message : '').toMatch(message);
    expect(error instanceof Error ? error.message.split('\n') : []).toHaveLength(1);
  });
});

describe('a failing credential helper (issue 13, case 9)', () => {
  // Secret-shaped values are made at run time: the repository never holds one (not even a fake AWS key id).
  const alnum = (n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string =>
    Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length] ?? 'A').join('');
  const b64url = (n: number): string => randomBytes(n).toString('base64url');
  const keyId = (prefix: string): string => `${prefix}${alnum(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;

  /** A docker-credential-fake on PATH that prints `stderr` and exits 1. */
  async function failingHelper(stderr: string): Promise<string> {
    const dir = await testdir({
      'config.json': JSON.stringify({ credHelpers: { 'ecr.example': 'fake' } }),
      'stderr.txt': stderr,
    });
    const helper = join(dir, 'docker-credential-fake');
    await writeFile(helper, `#!/bin/sh\ncat "${dir}/stderr.txt" >&2\nexit 1\n`);
    await chmod(helper, 0o755);
    vi.stubEnv('PATH', `${dir}:${process.env.PATH ?? ''}`);
    return dir;
  }

  async function failure(stderr: string): Promise<{ message: string; hint: string }> {
    const dir = await failingHelper(stderr);
    const error: unknown = await lookupCredentials('ecr.example', { env: { DOCKER_CONFIG: dir } }).catch(
      (e: unknown) => e,
    );
    if (!(error instanceof CredentialError)) throw new Error(`expected a CredentialError, got ${String(error)}`);
    return { message: `${error.message}\n${error.stack ?? ''}`, hint: error.hint ?? '' };
  }

  /** No 6-character piece of the secret shows anywhere. */
  const expectNoPart = (text: string, secret: string) => {
    for (let i = 0; i + 6 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 6));
  };

  it.each([
    [
      'a JWT',
      () => `${b64url(20)}.${b64url(60)}.${b64url(32)}`.replace(/^/, 'eyJ'),
      (t: string) => `error getting credentials - err: token ${t} expired`,
    ],
    ['a bearer token', () => b64url(40), (t: string) => `401 Unauthorized: Authorization: Bearer ${t}`],
    ['a password= value', () => `pw-${randomUUID()}`, (t: string) => `login failed for user=robot password=${t}`],
    ['a "Secret" JSON field', () => b64url(30), (t: string) => `unexpected answer {"Username":"AWS","Secret":"${t}"}`],
    ['a token: value', () => alnum(12), (t: string) => `refresh token: ${t} was rejected`],
    [
      'an AWS access key id',
      () => keyId('AKIA'),
      (t: string) => `The security token included in the request is invalid: ${t}`,
    ],
    ['a temporary AWS key id', () => keyId('ASIA'), (t: string) => `using credentials ${t} from the environment`],
    ['a long base64 run', () => randomBytes(40).toString('base64'), (t: string) => `cached credentials ${t} are stale`],
    ['a long hex run', () => randomBytes(32).toString('hex'), (t: string) => `session ${t} not found`],
    [
      'basic credentials',
      () => b64(`robot:${alnum(10)}`),
      (t: string) => `registry said 401 to Authorization: Basic ${t}`,
    ],
  ])(
    'redacts %s from the first line of its stderr, and still names the helper and the fix',
    async (_name, makeSecret, line) => {
      const secret = makeSecret();
      const { message, hint } = await failure(`${line(secret)}\n`);
      expectNoPart(message, secret);
      expectNoPart(hint, secret);
      expect(message).toMatch(
        /^docker-credential-fake get failed for ecr\.example: exited with status 1: .*\[redacted\]/,
      );
      expect(hint).toContain('echo ecr.example | docker-credential-fake get');
    },
  );

  it('shows only the first non-empty line, cut to about 200 characters', async () => {
    const secret = `pw-${randomUUID()}`;
    const { message } = await failure(`\n   \n${'credentials not found '.repeat(20)}\n${secret}\nmore ${secret}\n`);
    expectNoPart(message, secret);
    const summary = message.split('\n')[0] ?? '';
    expect(summary).toContain('credentials not found credentials not found');
    expect(summary.length).toBeLessThan(300);
    expect(summary).toMatch(/…$/);
  });

  it.each([
    'error getting credentials - err: exit status 1, out: `no basic auth credentials` for 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    'AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken',
    'open /run/user/1000/containers/auth.json: permission denied',
  ])('keeps the words that help: hosts, accounts, paths and plain messages (%s)', async (line) => {
    const { message } = await failure(`${line}\n`);
    expect(message.split('\n')[0]).toBe(
      `docker-credential-fake get failed for ecr.example: exited with status 1: ${line}`,
    );
  });

  it('says that a helper that is not installed is not on PATH', async () => {
    const dir = await testdir({ 'config.json': JSON.stringify({ credsStore: 'not-installed' }) });
    const error: unknown = await lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      exitCode: 2,
      message: 'docker-credential-not-installed get failed for quay.io: not found on PATH',
    });
  });

  it('never runs a "helper" named by a path (credsStore: x/../evil)', async () => {
    const dir = await testdir({
      'config.json': JSON.stringify({ credsStore: 'x/../evil' }),
      'docker-credential-x/.keep': '',
    });
    await writeFile(join(dir, 'evil'), `#!/bin/sh\necho ran > "${dir}/ran"\n`);
    await chmod(join(dir, 'evil'), 0o755);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const error: unknown = await lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ exitCode: 2 });
      expect(error instanceof Error ? error.message : '').toMatch(/credential helper "x\/\.\.\/evil" is a path/);
    } finally {
      process.chdir(cwd);
    }
    await expect(readFile(join(dir, 'ran'))).rejects.toThrow(/ENOENT/);
  });
});
