import { createHash, randomBytes } from 'node:crypto';
import { lchown, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelcarBuildInput, type ModelcarBuildResult, modelcarBuild } from '../../src/commands/modelcar-build.ts';
import { ModelChangedError } from '../../src/modelcar/layer-tar.ts';
import { planLayers } from '../../src/modelcar/plan.ts';
import { walkModelDir } from '../../src/modelcar/walk.ts';
import type { PushEvent } from '../../src/registry/push.ts';
import { pushBusyboxBase } from '../support/busybox-base.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { modelcarInput } from '../support/modelcar-input.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { rewriteInPlace } from '../support/model-files.ts';
import { testdir } from '../support/testdir.ts';

let registry: RegistryHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusyboxBase(registry);
  // Every request of the builds goes through the proxy, so its log shows each upload.
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await Promise.all([proxy.close(), registry.stop()]);
});

const REPOSITORY = 'models/rehash';
// Whole seconds: a file's mtime can be set back exactly, as anyone can with touch -d.
const MTIME = 1_700_000_000;
// Above modelcarInput's 1 MiB threshold: each weights file gets a layer of its own.
const SIZES = { 'a.safetensors': 2 * 2 ** 20, 'b.safetensors': 3 * 2 ** 20 } as const;

async function model(): Promise<string> {
  const dir = await testdir({ 'config.json': '{"architectures": []}' });
  for (const [name, size] of Object.entries(SIZES)) {
    await writeFile(join(dir, name), randomBytes(size));
    await utimes(join(dir, name), MTIME, MTIME);
  }
  return dir;
}

function builder(
  cacheDir: string,
): (dir: string, tag: string, debug?: string[], onEvent?: (event: PushEvent) => void) => Promise<ModelcarBuildResult> {
  return (dir, tag, debug = [], onEvent = () => undefined) => {
    const extra: Partial<ModelcarBuildInput> = {
      useCache: true,
      cacheDir,
      log: { debug: (line) => debug.push(line) },
      onEvent,
    };
    return modelcarBuild(
      modelcarInput({
        modelDir: dir,
        image: `${proxy.host}/${REPOSITORY}:${tag}`,
        base: `${proxy.host}/base/busybox:1`,
        ...extra,
      }),
    );
  };
}

/** What kubelet does for a pod's fsGroup (fsGroupChangePolicy Always): lchown every file, here to the owner it has. */
async function chownInPlace(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const before = await stat(path);
    await lchown(path, before.uid, before.gid);
    // Only ctime moved: the content, size, mtime and inode are what the first build saw.
    const after = await stat(path);
    expect([after.size, after.mtimeMs, after.ino, after.dev]).toEqual([
      before.size,
      before.mtimeMs,
      before.ino,
      before.dev,
    ]);
    expect(after.ctimeMs).not.toBe(before.ctimeMs);
  }
}

/** The digests the registry was asked to commit (the final PUT of each upload). */
function committed(): string[] {
  return proxy.log
    .filter((e) => e.method === 'PUT' && e.path.includes('/blobs/uploads/'))
    .map((e) => new URL(e.path, 'http://x').searchParams.get('digest') ?? '');
}

const uploads = () => proxy.log.filter((e) => e.path.includes('/blobs/uploads/'));

async function blob(digest: string): Promise<Buffer> {
  const res = await fetch(`${registry.url}/v2/${REPOSITORY}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('a ctime-only change costs a local re-read, not a re-upload', () => {
  it('after a chown of every file to its own owner, the layers are hashed locally and nothing is uploaded; the image is the same', async () => {
    const dir = await model();
    const build = builder(await testdir());
    const first = await build(dir, 'r1');
    expect(first.layers.map((l) => l.outcome)).toEqual(['uploaded', 'uploaded', 'uploaded']);

    await chownInPlace(dir);
    proxy.reset();
    const debug: string[] = [];
    const second = await build(dir, 'r2', debug);
    expect(second.layers.map((l) => l.outcome)).toEqual(['rehashed', 'rehashed', 'rehashed']);
    expect(second.layers.map((l) => l.digest)).toEqual(first.layers.map((l) => l.digest));
    expect(second.digest).toBe(first.digest);
    // No upload session of any blob: each model layer was HEADed and found.
    expect(uploads()).toEqual([]);
    expect(second.layers.map((l) => l.sentBytes)).toEqual([0, 0, 0]);
    expect(second.bytes).toMatchObject({ uploaded: 0, sent: 0 });
    for (const layer of second.layers) expect(proxy.count('HEAD', new RegExp(`/blobs/${layer.digest}$`))).toBe(1);
    // The local read, once: every model byte.
    expect(second.model.bytesRead).toBe(second.model.bytes);
    expect(debug.filter((line) => /only ctime changed/.test(line))).toHaveLength(3);

    // The fresh digests went under both keys: the next build hits the cache and reads nothing.
    const third = await build(dir, 'r3');
    expect(third.layers.map((l) => l.outcome)).toEqual(['cached', 'cached', 'cached']);
    expect(third.model.bytesRead).toBe(0);
    expect(third.digest).toBe(first.digest);
  });

  it('a file rewritten in place keeping size, mtime and inode gets its new digest and only its new bytes are uploaded', async () => {
    const dir = await model();
    const build = builder(await testdir());
    const first = await build(dir, 'w1');
    const layerOf = (result: ModelcarBuildResult, file: string) => result.layers.find((l) => l.files.includes(file));

    await chownInPlace(dir);
    const weights = join(dir, 'a.safetensors');
    const before = await stat(weights);
    const rewritten = randomBytes(SIZES['a.safetensors']);
    rewriteInPlace(weights, rewritten, MTIME);
    const after = await stat(weights);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);

    proxy.reset();
    const second = await build(dir, 'w2');
    const layer = layerOf(second, 'a.safetensors');
    expect(layer?.outcome).toBe('rehashed');
    expect(layer?.digest).not.toBe(layerOf(first, 'a.safetensors')?.digest);
    expect((await blob(layer?.digest ?? '')).includes(rewritten)).toBe(true);
    // Uploaded: the rewritten layer and the new config (its diff_ids changed), nothing else.
    const others = second.layers.filter((l) => l !== layer);
    expect(others.map((l) => l.digest)).toEqual(
      first.layers.filter((l) => !l.files.includes('a.safetensors')).map((l) => l.digest),
    );
    expect(committed()).toContain(layer?.digest);
    expect(committed()).toHaveLength(2);
    for (const other of others) expect(committed()).not.toContain(other.digest);
    expect(second.digest).not.toBe(first.digest);
    // Every model byte read once to hash it, and the rewritten file once more to upload it.
    expect(second.model.bytesRead).toBe(second.model.bytes + SIZES['a.safetensors']);

    const third = await build(dir, 'w3');
    expect(third.layers.map((l) => l.outcome)).toEqual(['cached', 'cached', 'cached']);
    expect(third.digest).toBe(second.digest);
  });

  it('a file rewritten while it is hashed locally fails the build like a write during an upload does; nothing is uploaded', async () => {
    const dir = await model();
    const weights = join(dir, 'big.safetensors');
    await writeFile(weights, randomBytes(8 * 2 ** 20));
    await utimes(weights, MTIME, MTIME);
    const build = builder(await testdir());
    await build(dir, 'h1');
    await chownInPlace(dir);
    let rewritten = false;
    // The local read of that layer is under way once 1 MiB of it was hashed (its tar header went
    // first): rewrite its start and set mtime back. Driven by the read's own events, no timing.
    const onEvent = (event: PushEvent): void => {
      if (
        !rewritten &&
        event.type === 'blob-progress' &&
        event.digest.includes('big.safetensors') &&
        event.bytes >= 2 ** 20
      ) {
        rewritten = true;
        rewriteInPlace(weights, randomBytes(4096), MTIME);
      }
    };
    proxy.reset();
    const error: unknown = await build(dir, 'h2', [], onEvent).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(rewritten).toBe(true);
    expect(error).toBeInstanceOf(ModelChangedError);
    expect(String(error)).toMatch(/big\.safetensors changed while it was being uploaded: .*ctime/);
    expect(uploads()).toEqual([]);
    expect(proxy.count('PUT', /\/manifests\//)).toBe(0);
  });

  it('a cache from before weak keys (strong keys only) gets them on its next hit, so a chown after that is still only a re-read', async () => {
    const dir = await model();
    const cacheDir = await testdir();
    const build = builder(cacheDir);
    await build(dir, 'o1');
    // What an earlier version left: the same cache without the weak entries. Their file names are the
    // digest cache's (sha256 of the key); the keys are the plan's, for modelcarInput's options.
    const planned = planLayers(await walkModelDir(dir), { modelsPath: '/models', layerThreshold: 2 ** 20, epoch: 0 });
    const entryFile = (key: string) =>
      join(cacheDir, 'layer-digests', `${createHash('sha256').update(key).digest('hex')}.json`);
    for (const layer of planned) {
      await stat(entryFile(layer.weakKey));
      await rm(entryFile(layer.weakKey));
    }
    const hit = await build(dir, 'o2');
    expect(hit.layers.map((l) => l.outcome)).toEqual(['cached', 'cached', 'cached']);

    await chownInPlace(dir);
    proxy.reset();
    const second = await build(dir, 'o3');
    expect(second.layers.map((l) => l.outcome)).toEqual(['rehashed', 'rehashed', 'rehashed']);
    expect(uploads()).toEqual([]);
    expect(second.digest).toBe(hit.digest);
  });
});
