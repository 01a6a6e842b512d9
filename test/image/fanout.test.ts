import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { MAX_CONCURRENT_READS, MAX_INDEX_DEPTH, MAX_MANIFESTS } from '../../src/image/limits.ts';
import { type BlobStore, readLayout } from '../../src/image/layout.ts';
import { openSource } from '../../src/image/open-source.ts';
import { directoryStore } from '../../src/image/stores.ts';
import type { ManifestNode } from '../../src/image/types.ts';
import { pushImage } from '../../src/registry/push.ts';
import { imageIndex, imageManifest, memoryBlob, randomBlob } from '../support/blobs.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { writeLayout } from '../support/layout.ts';
import { testLog, testTransport } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

// Issue 13, case 6: an index tree is a DAG. It is read once per digest, with caps on depth and node
// count and a bounded number of reads in flight, and each manifest digest is PUT once, children first.
let registry: RegistryHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy.close();
  await registry.stop();
});

beforeEach(() => {
  proxy.reset();
});

/** An index listing `outer` copies of an index listing the same manifest `inner` times. */
function fanOut(outer: number, inner: number): { root: ManifestNode; index: ManifestNode; manifest: ManifestNode } {
  const manifest = imageManifest([randomBlob(100)]);
  const index = imageIndex(Array.from({ length: inner }, () => manifest));
  return { root: imageIndex(Array.from({ length: outer }, () => index)), index, manifest };
}

async function layoutOf(root: ManifestNode): Promise<string> {
  const dir = join(await testdir(), 'layout');
  await writeLayout(dir, [{ root, ref: 'v1' }]);
  return dir;
}

async function pushLayout(dir: string, repository: string): Promise<string[]> {
  const image = await openSource(`oci:${dir}:v1`, { signal: new AbortController().signal });
  const log = testLog();
  const transport = await testTransport(proxy.host, registry, log);
  try {
    await pushImage(image, {
      transport,
      repository,
      tag: 'v1',
      mode: 'stream',
      chunkSize: 2 ** 20,
      concurrency: 4,
      log,
    });
  } finally {
    await Promise.all([transport.close(), image.close()]);
  }
  return proxy.log.filter((e) => e.method === 'PUT' && e.path.includes('/manifests/')).map((e) => e.path);
}

describe('index fan-out', () => {
  it('40 copies of an index listing one manifest 40 times: one PUT per distinct manifest digest, children first', async () => {
    const { root, index, manifest } = fanOut(40, 40);
    const dir = await layoutOf(root);
    const opened = await openSource(`oci:${dir}:v1`, { signal: new AbortController().signal });
    // One node per digest: the 40 entries are the same object, not 40 copies read 40 times.
    expect(new Set(opened.root.children).size).toBe(1);
    expect(new Set(opened.root.children.flatMap((c) => c.children)).size).toBe(1);
    await opened.close();

    const puts = await pushLayout(dir, 'team/fan40');
    expect(puts).toEqual([
      `/v2/team/fan40/manifests/${manifest.digest}`,
      `/v2/team/fan40/manifests/${index.digest}`,
      '/v2/team/fan40/manifests/v1',
    ]);
    expect(proxy.count('PUT', /\/blobs\/uploads\//)).toBe(2);
  });

  it('300 × 300 completes with three manifest PUTs and without EMFILE', async () => {
    const { root } = fanOut(300, 300);
    const puts = await pushLayout(await layoutOf(root), 'team/fan300');
    expect(puts).toHaveLength(3);
  });

  it(`refuses an index of more than ${String(MAX_MANIFESTS)} distinct manifests with one line`, async () => {
    const layer = memoryBlob(Buffer.from('shared layer'));
    // Distinct configs (one architecture each) make distinct manifests over the same layer.
    const manifests = Array.from({ length: MAX_MANIFESTS + 1 }, (_, i) => imageManifest([layer], `linux/arch${i}`));
    const dir = await layoutOf(imageIndex(manifests));
    const opened = openSource(`oci:${dir}:v1`, { signal: new AbortController().signal });
    await expect(opened).rejects.toThrow(UsageError);
    await expect(opened).rejects.toThrow(
      new RegExp(`^oci:${dir}: the image lists more than ${MAX_MANIFESTS} manifests and indexes$`),
    );
  });

  it(`refuses an index nested deeper than ${String(MAX_INDEX_DEPTH)} levels`, async () => {
    let node: ManifestNode = imageManifest([randomBlob(10)]);
    for (let level = 1; level <= MAX_INDEX_DEPTH; level++) node = imageIndex([node]);
    const dir = await layoutOf(node);
    await expect(openSource(`oci:${dir}:v1`, { signal: new AbortController().signal })).rejects.toThrow(
      new RegExp(`^oci:${dir}: indexes nested more than ${MAX_INDEX_DEPTH} deep$`),
    );
  });

  it(`accepts an index nested exactly ${String(MAX_INDEX_DEPTH)} levels deep`, async () => {
    let node: ManifestNode = imageManifest([randomBlob(10)]);
    for (let level = 2; level <= MAX_INDEX_DEPTH; level++) node = imageIndex([node]);
    const opened = await openSource(`oci:${await layoutOf(node)}:v1`, { signal: new AbortController().signal });
    expect(opened.root.digest).toBe(node.digest);
  });

  it(`reads at most ${String(MAX_CONCURRENT_READS)} documents at once`, async () => {
    const layer = memoryBlob(Buffer.from('shared layer'));
    const dir = await layoutOf(
      imageIndex(Array.from({ length: 200 }, (_, i) => imageManifest([layer], `linux/arch${i}`))),
    );
    const inner = directoryStore(dir, `oci:${dir}`);
    let open = 0;
    let peak = 0;
    const counted = (stream: Readable): Readable => {
      open += 1;
      peak = Math.max(peak, open);
      stream.once('close', () => (open -= 1));
      return stream;
    };
    const store: BlobStore = {
      description: inner.description,
      readFile: (path, limit) => inner.readFile(path, limit),
      async blob(digest) {
        const stored = await inner.blob(digest);
        return stored === undefined ? undefined : { size: stored.size, open: (offset) => counted(stored.open(offset)) };
      },
    };
    const root = await readLayout(store, 'v1', { signal: new AbortController().signal });
    expect(root.children).toHaveLength(200);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(MAX_CONCURRENT_READS);
  });
});
