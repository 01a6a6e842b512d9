import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { layerEntries } from '../../src/image/tar-walk.ts';
import type { BlobSource } from '../../src/image/types.ts';
import { mergeLayers } from '../../src/registry/image-files.ts';
import { testdir } from '../support/testdir.ts';

const exec = promisify(execFile);

/** A blob over bytes that counts what was actually delivered, to prove contents were skipped. */
function countingBlob(bytes: Buffer, mediaType: string): BlobSource & { delivered: number } {
  const blob = {
    delivered: 0,
    digest: undefined,
    size: bytes.length,
    mediaType,
    open(offset: number) {
      const rest = bytes.subarray(offset);
      const chunks: Buffer[] = [];
      for (let at = 0; at < rest.length; at += 65536) chunks.push(rest.subarray(at, at + 65536));
      return Readable.from(
        (function* () {
          for (const chunk of chunks) {
            blob.delivered += chunk.length;
            yield chunk;
          }
        })(),
        { objectMode: false },
      );
    },
  };
  return blob;
}

async function tarOf(files: Record<string, string | Buffer>, args: readonly string[] = []): Promise<Buffer> {
  const dir = await testdir();
  for (const [name, content] of Object.entries(files)) {
    await exec('mkdir', ['-p', join(dir, name, '..')]);
    await writeFile(join(dir, name), content);
  }
  const out = join(await testdir(), 'layer.tar');
  await exec('tar', ['-C', dir, ...args, '-cf', out, ...Object.keys(files)]);
  return readFile(out);
}

describe('layerEntries: tar headers without file contents', () => {
  it('reads an uncompressed 20 MiB layer by windows, without downloading the weights', async () => {
    const bytes = await tarOf({ 'models/config.json': '{}', 'models/weights.bin': Buffer.alloc(20 * 2 ** 20, 1) });
    const blob = countingBlob(bytes, 'application/vnd.oci.image.layer.v1.tar');
    const entries = await layerEntries(blob, new AbortController().signal);
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ['models/config.json', 'file', 2],
      ['models/weights.bin', 'file', 20 * 2 ** 20],
    ]);
    expect(blob.delivered).toBeLessThan(2 ** 20);
  });

  it('reads a gzip layer by streaming it, with PAX long names and modes', async () => {
    const long = `models/${'x'.repeat(150)}.json`;
    const bytes = await tarOf({ [long]: 'a', 'bin/busybox': 'b' }, ['--format=pax', '-z']);
    const entries = await layerEntries(
      countingBlob(bytes, 'application/vnd.oci.image.layer.v1.tar+gzip'),
      new AbortController().signal,
    );
    expect(entries.map((e) => e.path)).toContain(long);
    expect(entries.find((e) => e.path === 'bin/busybox')?.mode).toBe(0o644);
  });

  it('merges layers: later entries win, whiteouts and opaque dirs delete', () => {
    const f = (path: string) => ({ path, type: 'file' as const, mode: 0o644, size: 1 });
    const merged = mergeLayers([
      [f('a/x'), f('a/y'), f('b/z'), f('keep')],
      [f('a/.wh.x'), f('b/.wh..wh..opq'), f('b/new')],
    ]);
    expect(merged.map((e) => e.path)).toEqual(['a/y', 'b/new', 'keep']);
  });
});
