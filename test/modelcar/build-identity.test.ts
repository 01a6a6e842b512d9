import { randomBytes } from 'node:crypto';
import { lutimesSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelcarBuildInput, modelcarBuild } from '../../src/commands/modelcar-build.ts';
import { ModelChangedError } from '../../src/modelcar/layer-tar.ts';
import type { PushEvent } from '../../src/registry/push.ts';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { modelcarInput } from '../support/modelcar-input.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { rewriteInPlace } from '../support/model-files.ts';
import { testdir } from '../support/testdir.ts';

let registry: RegistryHandle;
let base: BusyboxBase;

beforeAll(async () => {
  registry = await startRegistry();
  base = await pushBusyboxBase(registry);
});

afterAll(async () => {
  await registry.stop();
});

const REPOSITORY = 'models/identity';
// Whole seconds: a file's mtime can be set back exactly, as anyone can with touch -d.
const MTIME = 1_700_000_000;
// Above modelcarInput's 1 MiB threshold: the file gets a layer of its own.
const SIZE = 2 * 2 ** 20;

function build(
  modelDir: string,
  tag: string,
  onEvent: (event: PushEvent) => void,
  extra: Partial<ModelcarBuildInput> = {},
): ReturnType<typeof modelcarBuild> {
  return modelcarBuild(
    modelcarInput({
      modelDir,
      image: `${registry.host}/${REPOSITORY}:${tag}`,
      base: base.reference,
      onEvent,
      ...extra,
    }),
  );
}

/** The build's first event: the walk and the plan are done, and no model byte has been read yet. */
function afterPlan(swap: () => void): (event: PushEvent) => void {
  let done = false;
  return (event) => {
    if (!done && event.type === 'plan') {
      done = true;
      swap();
    }
  };
}

async function tagStatus(tag: string): Promise<number> {
  const res = await fetch(`${registry.url}/v2/${REPOSITORY}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Whether any file the registry stores (blobs, and partial uploads too) holds `bytes`. */
async function registryHolds(bytes: Buffer): Promise<boolean> {
  for (const entry of await readdir(registry.dataDir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && (await readFile(join(entry.parentPath, entry.name))).includes(bytes)) return true;
  }
  return false;
}

async function blob(digest: string): Promise<Buffer> {
  const res = await fetch(`${registry.url}/v2/${REPOSITORY}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** A model dir with `weights` at `rel`, and a 0600 secret outside it of the same size and mtime. */
async function modelAndSecret(
  rel: string,
): Promise<{ dir: string; weights: string; secret: Buffer; secretFile: string; outside: string }> {
  const dir = await testdir({ 'config.json': '{}' });
  const weights = join(dir, rel);
  await mkdir(join(weights, '..'), { recursive: true });
  await writeFile(weights, randomBytes(SIZE));
  await utimes(weights, MTIME, MTIME);
  const outside = await testdir();
  const secret = randomBytes(SIZE);
  const secretFile = join(outside, 'weights.bin');
  await writeFile(secretFile, secret, { mode: 0o600 });
  await chmod(secretFile, 0o600);
  await utimes(secretFile, MTIME, MTIME);
  return { dir, weights, secret, secretFile, outside };
}

async function expectRefused(built: Promise<unknown>, file: RegExp, tag: string, secret: Buffer): Promise<void> {
  const error: unknown = await built.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelChangedError);
  if (!(error instanceof ModelChangedError)) return;
  expect(error.message).toMatch(file);
  expect(error.message).not.toContain('\n');
  expect(error.exitCode).toBe(1);
  expect(await tagStatus(tag)).toBe(404);
  expect(await registryHolds(secret)).toBe(false);
}

describe('modelcar build reads each model file as the walk found it (issue 13, case 3)', () => {
  it('a file swapped for a symlink to a 0600 secret of the same size and mtime fails the build, naming the file; the secret is never sent', async () => {
    const { dir, weights, secret, secretFile } = await modelAndSecret('weights.safetensors');
    const swap = afterPlan(() => {
      rmSync(weights);
      symlinkSync(secretFile, weights);
      lutimesSync(weights, MTIME, MTIME);
    });
    await expectRefused(build(dir, 'link', swap), /weights\.safetensors .*symlink/, 'link', secret);
  });

  it('a parent directory swapped for a symlink to elsewhere fails the build, naming the file', async () => {
    const { dir, secret, outside } = await modelAndSecret('shards/weights.bin');
    const moved = join(await testdir(), 'shards');
    const swap = afterPlan(() => {
      renameSync(join(dir, 'shards'), moved);
      symlinkSync(outside, join(dir, 'shards'));
    });
    await expectRefused(build(dir, 'parent', swap), /shards\/weights\.bin .*another file/, 'parent', secret);
  });

  it('a file replaced (renamed over) by another regular file of the same size and mtime fails the build, naming the file', async () => {
    const { dir, weights } = await modelAndSecret('weights.safetensors');
    const replacement = randomBytes(SIZE);
    // Staged beside the model dir, on the same file system, as a download tool's temp file would be.
    const staged = join(await testdir(), 'weights.safetensors.part');
    await writeFile(staged, replacement);
    await utimes(staged, MTIME, MTIME);
    const swap = afterPlan(() => renameSync(staged, weights));
    await expectRefused(build(dir, 'renamed', swap), /weights\.safetensors .*another file/, 'renamed', replacement);
  });
});

describe('the digest cache cannot serve stale bytes (issue 13, case 7)', () => {
  it('an in-place rewrite that keeps size, mtime and inode misses the cache and pushes the new bytes; an unchanged re-push still hits it', async () => {
    const cacheDir = await testdir();
    const { dir, weights } = await modelAndSecret('weights.safetensors');
    const cached = { useCache: true, cacheDir };
    const first = await build(dir, 'c1', () => undefined, cached);
    const layerOf = (result: typeof first) => result.layers.find((l) => l.files.includes('weights.safetensors'));
    expect(first.model.bytesRead).toBe(SIZE + 2);

    const before = await stat(weights);
    const rewritten = randomBytes(SIZE);
    rewriteInPlace(weights, rewritten, MTIME);
    const after = await stat(weights);
    // What the old cache key saw is unchanged: only ctime tells.
    expect([after.size, after.mtimeMs, after.ino, after.dev]).toEqual([
      before.size,
      before.mtimeMs,
      before.ino,
      before.dev,
    ]);
    expect(after.ctimeMs).not.toBe(before.ctimeMs);

    const second = await build(dir, 'c2', () => undefined, cached);
    const layer = layerOf(second);
    // Only ctime tells, so the layer is hashed locally first (a chown looks the same), then uploaded
    // by the push because the registry lacks its new digest.
    expect(layer?.outcome).toBe('rehashed');
    expect(layer?.digest).not.toBe(layerOf(first)?.digest);
    // Only the rewritten file was read again (to hash it, then to upload it): config.json's layer still came from the cache.
    expect(second.model.bytesRead).toBe(2 * SIZE);
    expect((await blob(layer?.digest ?? '')).includes(rewritten)).toBe(true);

    const third = await build(dir, 'c3', () => undefined, cached);
    expect(third.model.bytesRead).toBe(0);
    expect(third.layers.map((l) => l.outcome)).toEqual(['cached', 'cached']);
    expect(third.digest).toBe(second.digest);
  });

  it('an in-place rewrite during the upload that restores size and mtime fails the build like a write does', async () => {
    const dir = await testdir({ 'config.json': '{}' });
    const weights = join(dir, 'weights.safetensors');
    await writeFile(weights, randomBytes(24 * 2 ** 20));
    await utimes(weights, MTIME, MTIME);
    let rewritten = false;
    // 4 MiB of that layer sent means the file is open and being read (its tar header went first):
    // rewrite its start then and set the mtime back, so size and mtime say nothing happened. Driven
    // by the upload's own events, so no timing is involved.
    const onEvent = (event: PushEvent): void => {
      if (
        !rewritten &&
        event.type === 'blob-progress' &&
        event.digest.includes('weights.safetensors') &&
        event.bytes >= 4 * 2 ** 20
      ) {
        rewritten = true;
        rewriteInPlace(weights, randomBytes(4096), MTIME);
      }
    };
    await expect(build(dir, 'during', onEvent)).rejects.toThrow(
      /weights\.safetensors changed while it was being uploaded/,
    );
    expect(rewritten).toBe(true);
    expect(await tagStatus('during')).toBe(404);
  });
});
