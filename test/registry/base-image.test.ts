import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDigestCache } from '../../src/image/digest-cache.ts';
import type { ManifestNode } from '../../src/image/types.ts';
import { resolveBaseImage } from '../../src/registry/base-image.ts';
import { pushImage } from '../../src/registry/push.ts';
import { RegistryTransport } from '../../src/registry/transport.ts';
import { imageIndex, imageManifest, randomBlob, sourceImage, type TestManifest } from '../support/blobs.ts';
import { testLog, testTransport } from '../support/push-helpers.ts';
import { testdir } from '../support/testdir.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

let registry: RegistryHandle;
let transport: RegistryTransport;
const amd = imageManifest([randomBlob(300_000), randomBlob(5000)], 'linux/amd64');
const arm = imageManifest([randomBlob(200_000)], 'linux/arm64');
const armOnly = imageManifest([randomBlob(1000)], 'linux/arm64');

async function push(repository: string, root: ManifestNode): Promise<void> {
  await pushImage(sourceImage(root), {
    transport,
    repository,
    tag: 'v1',
    mode: 'stream',
    chunkSize: 2 ** 20,
    concurrency: 2,
  });
}

beforeAll(async () => {
  registry = await startRegistry({ auth: 'htpasswd' });
  transport = await testTransport(registry.host, registry);
  await push('base/multi', imageIndex([amd, arm]));
  await push('base/arm', armOnly);
});

afterAll(async () => {
  await transport.close();
  await registry.stop();
});

async function read(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('resolveBaseImage against a real registry', () => {
  it.each([
    ['linux/amd64', amd],
    ['linux/arm64', arm],
    ['linux/arm64/v8', arm],
  ] as const)('picks the %s manifest out of the index by digest', async (platform, expected: TestManifest) => {
    const base = await resolveBaseImage(transport, 'base/multi', 'v1', platform);
    expect(base.manifest.digest).toBe(expected.digest);
    expect(base.layers.map((l) => l.digest)).toEqual(expected.layers.map((l) => l.digest));
    expect(base.configJson).toMatchObject({ architecture: expected.platform?.split('/')[1] });
    expect(base.reference).toBe(`${registry.host}/base/multi@${expected.digest}`);
  });

  it('streams a base layer from any offset with a Range request', async () => {
    const base = await resolveBaseImage(transport, 'base/multi', 'v1', 'linux/amd64');
    const layer = base.blobs[1];
    const source = amd.layers[0];
    if (layer === undefined || source === undefined) throw new Error('missing layer');
    expect((await read(layer.open(0))).equals(source.bytes)).toBe(true);
    expect((await read(layer.open(123_457))).equals(source.bytes.subarray(123_457))).toBe(true);
    expect((await read(layer.open(source.size))).length).toBe(0);
  });

  it('refuses a base without the target platform, naming what it offers', async () => {
    await expect(resolveBaseImage(transport, 'base/multi', 'v1', 'linux/s390x')).rejects.toThrow(
      /base\/multi:v1 has no linux\/s390x image \(it offers linux\/amd64, linux\/arm64\)/,
    );
    await expect(resolveBaseImage(transport, 'base/arm', 'v1', 'linux/amd64')).rejects.toThrow(
      /base\/arm:v1 is linux\/arm64, not linux\/amd64/,
    );
  });

  it('reads a digest-pinned base from the cache without a single request, and refetches a tampered entry', async () => {
    const dir = await testdir();
    const cache = openDigestCache(dir, testLog());
    const index = imageIndex([amd, arm]);
    const first = await resolveBaseImage(transport, 'base/multi', 'v1', 'linux/amd64', { cache });
    // Port 1 on loopback refuses connections: any request would fail the resolve.
    const offline = new RegistryTransport({
      registry: '127.0.0.1:1',
      credentials: () => Promise.resolve(undefined),
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    });
    try {
      for (const reference of [index.digest, amd.digest]) {
        const cached = await resolveBaseImage(offline, 'base/multi', reference, 'linux/amd64', { cache });
        expect(cached.manifest).toEqual(first.manifest);
        expect(cached.configJson).toEqual(first.configJson);
      }
      await expect(resolveBaseImage(offline, 'base/multi', arm.digest, 'linux/arm64', { cache })).rejects.toThrow(
        /127\.0\.0\.1:1/,
      );
    } finally {
      await offline.close();
    }
    const entries = await readdir(join(dir, 'content'));
    for (const entry of entries)
      await writeFile(
        join(dir, 'content', entry),
        JSON.stringify({ mediaType: 'x', data: Buffer.from('{}').toString('base64') }),
      );
    expect(
      (await resolveBaseImage(transport, 'base/multi', index.digest, 'linux/amd64', { cache })).configJson,
    ).toEqual(first.configJson);
  });

  it('says when the base does not exist', async () => {
    await expect(resolveBaseImage(transport, 'base/none', 'v1', 'linux/amd64')).rejects.toThrow(
      /base image .*base\/none:v1 does not exist/,
    );
  });
});
