import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lookupCredentials } from '../../src/registry/credentials.ts';
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
    const dir = await testdir({ 'config.json': JSON.stringify({ auths: { [key]: { auth: b64(`robot:${password}`) } } }) });
    await expect(lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } })).resolves.toEqual({ username: 'robot', password, source: 'DOCKER_CONFIG/config.json' });
  });

  it('maps docker.io to the index.docker.io key docker login writes', async () => {
    const password = secret();
    const dir = await testdir({ 'config.json': JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64(`me:${password}`) } } }) });
    await expect(lookupCredentials('docker.io', { env: { DOCKER_CONFIG: dir } })).resolves.toMatchObject({ username: 'me', password });
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
    const env = { DOCKER_CONFIG: join(dir, 'docker'), REGISTRY_AUTH_FILE: join(dir, 'auth-file.json'), XDG_RUNTIME_DIR: join(dir, 'run') };
    await expect(lookupCredentials('a.example', { env })).resolves.toMatchObject({ username: 'u1', password: p1, source: 'REGISTRY_AUTH_FILE' });
    await expect(lookupCredentials('b.example', { env })).resolves.toMatchObject({ username: 'u2', password: p2, source: '$XDG_RUNTIME_DIR/containers/auth.json' });
  });

  it('runs a real credential helper with the host on stdin, nothing secret on argv', async () => {
    const password = secret();
    const dir = await testdir({ 'config.json': JSON.stringify({ credHelpers: { 'ecr.example': 'fake' } }) });
    const helper = join(dir, 'docker-credential-fake');
    // The helper records its argv and stdin so the test can check what it was given.
    await writeFile(helper, `#!/bin/sh\necho "$@" > "${dir}/argv"\nread host\necho "$host" > "${dir}/stdin"\nprintf '{"ServerURL":"%s","Username":"AWS","Secret":"${password}"}' "$host"\n`);
    await chmod(helper, 0o755);
    vi.stubEnv('PATH', `${dir}:${process.env.PATH ?? ''}`);
    await expect(lookupCredentials('ecr.example', { env: { DOCKER_CONFIG: dir } })).resolves.toEqual({ username: 'AWS', password, source: 'docker-credential-fake' });
    expect((await readFile(join(dir, 'argv'), 'utf8')).trim()).toBe('get');
    expect((await readFile(join(dir, 'stdin'), 'utf8')).trim()).toBe('ecr.example');
  });

  it.each([
    ['not JSON', (s: string) => `Secret=${s}`],
    ['the wrong JSON', (s: string) => JSON.stringify({ Username: 7, Secret: s })],
  ])('refuses a credential helper answer that is %s without echoing it', async (_name, answer) => {
    const password = secret();
    const dir = await testdir({ 'config.json': JSON.stringify({ credsStore: 'fake' }) });
    const error: unknown = await lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir }, runHelper: () => Promise.resolve(answer(password)) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 2, message: 'docker-credential-fake returned an unexpected answer for quay.io' });
    expect(String(error)).not.toContain(password);
  });

  it.each([
    ['invalid JSON', '{', /is not valid JSON/],
    // V8 quotes the text near a syntax error: the message must not.
    ['invalid JSON after a secret', `{"auths":{"quay.io":{"auth":"${b64('nocolon')}"}} x`, /is not valid JSON \(at position \d+/],
    ['an auth that is not user:password', JSON.stringify({ auths: { 'quay.io': { auth: b64('nocolon') } } }), /not base64 of "user:password"/],
    ['a wrong shape', JSON.stringify({ auths: 'quay.io' }), /unexpected shape: auths must be Object/],
    ['a secret where an object belongs', JSON.stringify({ auths: { 'quay.io': b64('nocolon') } }), /unexpected shape: auths\.quay\.io must be Object/],
  ])('rejects %s naming the file, without echoing secrets', async (_name, content, message) => {
    const dir = await testdir({ 'config.json': content });
    const error: unknown = await lookupCredentials('quay.io', { env: { DOCKER_CONFIG: dir } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 2 });
    expect(error instanceof Error ? error.message : '').toMatch(message);
    expect(error instanceof Error ? error.message : '').not.toContain(b64('nocolon'));
  });
});
