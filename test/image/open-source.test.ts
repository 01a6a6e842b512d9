import { execFile } from 'node:child_process';
import { appendFile, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openSource } from '../../src/image/open-source.ts';
import type { BlobSource, SourceImage } from '../../src/image/types.ts';
import { imageIndex, imageManifest, memoryBlob, randomBlob, type TestManifest } from '../support/blobs.ts';
import { writeLayout } from '../support/layout.ts';
import { testdir } from '../support/testdir.ts';

const exec = promisify(execFile);

async function read(blob: BlobSource, offset = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of blob.open(offset)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

async function withSource<T>(spec: string, body: (image: SourceImage) => Promise<T>): Promise<T> {
  const image = await openSource(spec, { signal: new AbortController().signal });
  try {
    return await body(image);
  } finally {
    await image.close();
  }
}

/** A layout with one two-layer image named v1; returns the dir and the image. */
async function layout(): Promise<{ dir: string; image: TestManifest }> {
  const dir = join(await testdir(), 'layout');
  const image = imageManifest([randomBlob(300_000), memoryBlob(Buffer.from('small layer'))]);
  await writeLayout(dir, [{ root: image, ref: 'v1' }]);
  return { dir, image };
}

async function expectSameImage(spec: string, image: TestManifest): Promise<void> {
  await withSource(spec, async (source) => {
    expect(source.root.digest).toBe(image.digest);
    expect(source.root.bytes.equals(image.bytes)).toBe(true);
    expect(source.root.platform).toBe('linux/amd64');
    expect(source.root.blobs.map((b) => b.digest)).toEqual([image.config.digest, ...image.layers.map((l) => l.digest)]);
    const big = source.root.blobs[1];
    const expected = image.layers[0];
    if (big === undefined || expected === undefined) throw new Error('no layer');
    for (const offset of [0, 1, 65_536, 299_999, 300_000])
      expect((await read(big, offset)).equals(expected.bytes.subarray(offset))).toBe(true);
  });
}

describe('openSource: oci layouts and archives read in place', () => {
  it('reads an OCI layout directory', async () => {
    const { dir, image } = await layout();
    await expectSameImage(`oci:${dir}:v1`, image);
    await expectSameImage(`oci:${dir}`, image);
  });

  it.each([
    ['tar with ./ names', (dir: string, out: string) => ['-C', dir, '-cf', out, '.']],
    ['tar without ./', (dir: string, out: string) => ['-C', dir, '-cf', out, 'index.json', 'oci-layout', 'blobs']],
    ['pax format with a long name', (dir: string, out: string) => ['-C', dir, '--format=pax', '-cf', out, '.']],
    ['gnu format with a long name', (dir: string, out: string) => ['-C', dir, '--format=gnu', '-cf', out, '.']],
  ])('reads an oci-archive made by %s, seeking from header to header', async (_name, args) => {
    const { dir, image } = await layout();
    await writeFile(join(dir, `${'n'.repeat(150)}.txt`), 'a file with a name longer than 100 bytes');
    const archive = join(await testdir(), 'image.tar');
    await exec('tar', args(dir, archive));
    await expectSameImage(`oci-archive:${archive}:v1`, image);
  });

  it('reads a layout and an archive written by skopeo and umoci', async () => {
    const root = await testdir();
    const oci = join(root, 'umoci');
    const models = join(root, 'models');
    await mkdir(models);
    await writeFile(join(models, 'config.json'), '{"model": "test"}');
    await exec('umoci', ['init', '--layout', oci]);
    await exec('umoci', ['new', '--image', `${oci}:v1`]);
    await exec('umoci', ['insert', '--image', `${oci}:v1`, models, '/models']);
    const archive = join(root, 'image.tar');
    await exec('skopeo', ['--insecure-policy', 'copy', `oci:${oci}:v1`, `oci-archive:${archive}:v1`]);
    for (const spec of [`oci:${oci}:v1`, `oci-archive:${archive}:v1`]) {
      const root = await withSource(spec, (source) => Promise.resolve(source.root));
      expect(root.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(root.blobs).toHaveLength(2);
      expect(root.platform).toMatch(/^linux\//);
    }
  });

  it('reads a docker-archive written by skopeo: layer digests are the diff_ids', async () => {
    // skopeo wants real tar layers for docker-archive: give it one.
    const tarDir = await testdir({ 'hello.txt': 'hello' });
    const tarLayer = join(await testdir(), 'layer.tar');
    await exec('tar', ['-C', tarDir, '-cf', tarLayer, 'hello.txt']);
    const real = imageManifest([memoryBlob(await readFile(tarLayer))]);
    const dir = join(await testdir(), 'layout');
    await writeLayout(dir, [{ root: real, ref: 'v1' }]);
    const archive = join(await testdir(), 'docker.tar');
    await exec('skopeo', ['--insecure-policy', 'copy', `oci:${dir}:v1`, `docker-archive:${archive}:team/app:v1`]);
    for (const spec of [`docker-archive:${archive}`, `docker-archive:${archive}:team/app:v1`]) {
      await withSource(spec, async (source) => {
        const layer = source.root.blobs[1];
        expect(layer?.digest).toBe(real.layers[0]?.digest);
        if (layer === undefined) throw new Error('no layer');
        expect((await read(layer)).equals(real.layers[0]?.bytes ?? Buffer.alloc(0))).toBe(true);
        expect(source.root.platform).toBe('linux/amd64');
      });
    }
  });

  it('reads a multi-platform index with each child platform', async () => {
    const dir = join(await testdir(), 'multi');
    const index = imageIndex([
      imageManifest([randomBlob(100)], 'linux/amd64'),
      imageManifest([randomBlob(100)], 'linux/arm64'),
    ]);
    await writeLayout(dir, [{ root: index, ref: 'v1' }]);
    const root = await withSource(`oci:${dir}:v1`, (source) => Promise.resolve(source.root));
    expect(root.digest).toBe(index.digest);
    expect(root.children.map((c) => c.platform)).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('accepts a path with colons in it', async () => {
    const base = await testdir();
    const dir = join(base, 'with:colon');
    const image = imageManifest([randomBlob(10)]);
    await writeLayout(dir, [{ root: image, ref: 'v1' }]);
    await withSource(`oci:${dir}:v1`, (source) => Promise.resolve(expect(source.root.digest).toBe(image.digest)));
    await withSource(`oci:${dir}`, (source) => Promise.resolve(expect(source.root.digest).toBe(image.digest)));
  });
});

describe('openSource: bad sources are clear errors', () => {
  it('refuses a gzip-compressed archive and says why', async () => {
    const { dir } = await layout();
    const archive = join(await testdir(), 'image.tar');
    await exec('tar', ['-C', dir, '-czf', archive, '.']);
    await expect(openSource(`oci-archive:${archive}`, { signal: new AbortController().signal })).rejects.toThrow(
      /is gzip-compressed/,
    );
  });

  it('refuses a truncated archive', async () => {
    const { dir } = await layout();
    const archive = join(await testdir(), 'image.tar');
    await exec('tar', ['-C', dir, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
    await truncate(archive, 200_000);
    await expect(openSource(`oci-archive:${archive}`, { signal: new AbortController().signal })).rejects.toThrow(
      /truncated/,
    );
  });

  it('names a missing blob', async () => {
    const { dir, image } = await layout();
    await rm(join(dir, 'blobs', 'sha256', (image.layers[0]?.digest ?? '').slice(7)));
    await expect(openSource(`oci:${dir}:v1`, { signal: new AbortController().signal })).rejects.toThrow(
      new RegExp(`missing blob ${image.layers[0]?.digest ?? ''}`),
    );
  });

  it('names a blob whose size is not what the manifest says', async () => {
    const { dir, image } = await layout();
    await appendFile(join(dir, 'blobs', 'sha256', (image.layers[1]?.digest ?? '').slice(7)), 'extra');
    await expect(openSource(`oci:${dir}:v1`, { signal: new AbortController().signal })).rejects.toThrow(
      /is 16 bytes, the manifest says 11/,
    );
  });

  it('asks for a ref when the layout holds several images, listing them', async () => {
    const dir = join(await testdir(), 'two');
    await writeLayout(dir, [
      { root: imageManifest([randomBlob(10)]), ref: 'a' },
      { root: imageManifest([randomBlob(10)]), ref: 'b' },
    ]);
    await expect(openSource(`oci:${dir}`, { signal: new AbortController().signal })).rejects.toThrow(
      /holds 2 images \(refs: a, b\)/,
    );
    await expect(openSource(`oci:${dir}:c`, { signal: new AbortController().signal })).rejects.toThrow(
      /has no image named "c" \(refs: a, b\)/,
    );
  });

  it.each([
    ['docker://busybox', /is not an image source/],
    ['oci:', /is not an image source/],
    ['/some/file.tar', /is not an image source/],
    ['oci:/nonexistent/layout', /oci:\/nonexistent\/layout: no such directory/],
    ['oci-archive:/nonexistent.tar', /no such file/],
  ])('%s → %s', async (spec, message) => {
    await expect(openSource(spec, { signal: new AbortController().signal })).rejects.toThrow(message);
  });

  it('refuses a directory as an archive and a file as a layout', async () => {
    const dir = await testdir({ 'file.tar': 'x' });
    await expect(openSource(`oci-archive:${dir}`, { signal: new AbortController().signal })).rejects.toThrow(
      /is not a file/,
    );
    await expect(openSource(`oci:${join(dir, 'file.tar')}`, { signal: new AbortController().signal })).rejects.toThrow(
      /is not a directory/,
    );
  });
});

describe('sourcePlatforms (image-architecture on archives and layouts)', () => {
  it('lists the platforms of an index and of a single image', async () => {
    const { sourcePlatforms } = await import('../../src/image/platforms.ts');
    const dir = join(await testdir(), 'platforms');
    const index = imageIndex([
      imageManifest([randomBlob(10)], 'linux/amd64'),
      imageManifest([randomBlob(10)], 'linux/arm64'),
    ]);
    const single = imageManifest([randomBlob(10)], 'linux/arm64');
    await writeLayout(dir, [
      { root: index, ref: 'multi' },
      { root: single, ref: 'arm' },
    ]);
    const signal = new AbortController().signal;
    expect(await sourcePlatforms(`oci:${dir}:multi`, signal)).toEqual({
      image: `oci:${dir}:multi`,
      digest: index.digest,
      kind: 'index',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    expect(await sourcePlatforms(`oci:${dir}:arm`, signal)).toMatchObject({
      kind: 'manifest',
      platforms: ['linux/arm64'],
    });
  });
});
