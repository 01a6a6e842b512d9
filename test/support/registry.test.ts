import { createHash } from 'node:crypto';
import { copyFile, readFile, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryCredentialsArgs, skopeo, startRegistry, type RegistryHandle } from './registry.ts';
import { TMPFS_MAGIC } from './tmpfs.ts';
import { pushTestImage } from './test-image.ts';
import { testdir } from './testdir.ts';

const basic = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

async function get(
  url: string,
  options: { authorization?: string; dispatcher?: Agent } = {},
): Promise<{ status: number; headers: Record<string, unknown> }> {
  const res = await request(url, {
    ...(options.dispatcher && { dispatcher: options.dispatcher }),
    ...(options.authorization !== undefined && { headers: { authorization: options.authorization } }),
  });
  await res.body.dump();
  return { status: res.statusCode, headers: res.headers };
}

/** The manifest as the registry serves it, read back by skopeo (a second, independent client). */
async function inspectRaw(
  handle: RegistryHandle,
  reference: string,
  tlsArgs: readonly string[] = ['--tls-verify=false'],
): Promise<string> {
  const result = await skopeo([
    'inspect',
    '--raw',
    ...tlsArgs,
    ...registryCredentialsArgs(handle),
    `docker://${reference}`,
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('startRegistry over plain HTTP', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry.stop());

  it('answers GET /v2/ on 127.0.0.1 as a distribution registry', async () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(registry.url).toBe(`http://${registry.host}`);
    expect(registry).not.toHaveProperty('username');
    const res = await get(`${registry.url}/v2/`);
    expect(res).toMatchObject({ status: 200, headers: { 'docker-distribution-api-version': 'registry/2.0' } });
  });

  it('pushes a hand-built OCI image with skopeo and serves the same manifest bytes back', async () => {
    const image = await pushTestImage(registry, 'harness/plain', 'v1');
    expect(image.reference).toBe(`${registry.host}/harness/plain:v1`);
    expect(image.manifestDigest).toBe(sha256(image.manifest));
    expect(await inspectRaw(registry, image.reference)).toBe(image.manifest);
    const layer = await request(`${registry.url}/v2/harness/plain/blobs/${image.layer.digest}`, { method: 'HEAD' });
    await layer.body.dump();
    expect(layer.statusCode).toBe(200);
    expect(layer.headers['content-length']).toBe(String(image.layer.size));
  });

  it('gives the same digests when the same name is pushed again', async () => {
    const [first, second] = [
      await pushTestImage(registry, 'harness/again', 't'),
      await pushTestImage(registry, 'harness/again', 't'),
    ];
    expect(second.manifestDigest).toBe(first.manifestDigest);
    const other = await pushTestImage(registry, 'harness/again', 'u');
    expect(other.layer.digest).not.toBe(first.layer.digest);
  });
});

describe('startRegistry with htpasswd auth', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(() => registry.stop());

  it('challenges anonymous requests with Basic and accepts the generated credentials', async () => {
    const { username = '', password = '' } = registry;
    expect(username).toBe('preflight');
    const anonymous = await get(`${registry.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm="preflight-test"/);
    expect((await get(`${registry.url}/v2/`, { authorization: basic(username, password) })).status).toBe(200);
    expect((await get(`${registry.url}/v2/`, { authorization: basic(username, `${password}x`) })).status).toBe(401);
  });

  it('stores only a bcrypt hash of a random password', async () => {
    const password = registry.password ?? '';
    expect(password.length).toBeGreaterThanOrEqual(20);
    const file = await readFile(join(dirname(registry.dataDir), 'htpasswd'), 'utf8');
    expect(file).toMatch(/^preflight:\$2y\$/);
    expect(file).not.toContain(password);
    const another = await startRegistry({ auth: 'htpasswd', username: 'robot' });
    try {
      expect(another.username).toBe('robot');
      expect(another.password).not.toBe(password);
    } finally {
      await another.stop();
    }
  });

  it('pushes with the credentials and refuses a push without them', async () => {
    const image = await pushTestImage(registry, 'harness/auth', 'v1');
    expect(await inspectRaw(registry, image.reference)).toBe(image.manifest);
    const anonymous = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${image.reference}`]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/unauthorized|authentication required/i);
  });
});

describe('startRegistry with TLS', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
  });
  afterAll(() => registry.stop());

  it('serves HTTPS with a certificate for IP 127.0.0.1 signed by caFile', async () => {
    expect(registry.url).toBe(`https://${registry.host}`);
    const ca = await readFile(registry.caFile ?? '', 'utf8');
    expect(ca).toContain('BEGIN CERTIFICATE');
    const trusting = new Agent({ connect: { ca } });
    try {
      expect((await get(`${registry.url}/v2/`, { dispatcher: trusting })).status).toBe(200);
    } finally {
      await trusting.close();
    }
  });

  it('is not trusted without the CA', async () => {
    await expect(get(`${registry.url}/v2/`)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('round-trips an image, read back by skopeo verifying TLS against the CA', async () => {
    const image = await pushTestImage(registry, 'harness/tls', 'v1');
    const certDir = await testdir();
    // containers/image trusts every *.crt in --cert-dir as a CA.
    await copyFile(registry.caFile ?? '', join(certDir, 'ca.crt'));
    expect(await inspectRaw(registry, image.reference, ['--cert-dir', certDir])).toBe(image.manifest);
    const untrusted = await skopeo(['inspect', '--raw', `docker://${image.reference}`]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/x509|certificate/i);
  });
});

describe('startRegistry lifecycle', () => {
  it('stop() ends the registry and removes its temp dir, and can be called twice', async () => {
    const registry = await startRegistry();
    expect((await stat(registry.dataDir)).isDirectory()).toBe(true);
    await registry.stop();
    await registry.stop();
    await expect(get(`${registry.url}/v2/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(stat(dirname(registry.dataDir))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps its data on tmpfs where the machine has one: distribution fsyncs every upload write', async () => {
    // On a disk shared with other busy processes one fsync took 59 s: every fault test timed out.
    const shm = await statfs('/dev/shm').catch(() => undefined);
    const registry = await startRegistry();
    try {
      const { type } = await statfs(registry.dataDir);
      expect(type).toBe(shm?.type === TMPFS_MAGIC ? TMPFS_MAGIC : (await statfs(tmpdir())).type);
    } finally {
      await registry.stop();
    }
  });

  it('fails, not skips, when the registry binary is missing', async () => {
    await expect(startRegistry({ binary: '/nonexistent/docker-registry' })).rejects.toThrow(
      'docker-registry is not installed: run npm run setup',
    );
  });
});
