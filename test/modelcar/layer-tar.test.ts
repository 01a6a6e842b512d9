import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { planLayers } from '../../src/modelcar/plan.ts';
import { ModelChangedError, type VirtualTar } from '../../src/modelcar/layer-tar.ts';
import { walkModelDir } from '../../src/modelcar/walk.ts';
import { testdir } from '../support/testdir.ts';

const exec = promisify(execFile);

async function bytesOf(tar: VirtualTar, offset = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tar.open(offset)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

const LONG = `${'long-directory-name-'.repeat(4)}/${'a-file-name-well-over-one-hundred-bytes-'.repeat(3)}.json`;

/** A model directory with the awkward cases the issue lists. */
async function hostileModel(): Promise<string> {
  const dir = await testdir({
    'config.json': '{"architectures": ["MistralForCausalLM"]}',
    'tokenizer/vocab.txt': 'a\nb\nc\n',
    'empty.txt': '',
    'modèle-ünïcødé/权重.bin': 'unicode names',
    [LONG]: 'deep and long',
    'nested/a/b/c/d.txt': 'deep',
  });
  await writeFile(join(dir, 'weights-00001.safetensors'), Buffer.alloc(5000, 7));
  await writeFile(join(dir, 'weights-00002.safetensors'), Buffer.alloc(3000, 9));
  await symlink('config.json', join(dir, 'link-inside.json'));
  await mkdir(join(dir, 'empty-dir'));
  return dir;
}

async function extractWith(tool: 'gnu' | 'busybox', bytes: Buffer): Promise<string> {
  const out = await testdir();
  const archive = join(await testdir(), 'layer.tar');
  await writeFile(archive, bytes);
  if (tool === 'gnu') await exec('tar', ['-xf', archive, '-C', out]);
  else await exec('busybox', ['tar', '-xf', archive, '-C', out]);
  return out;
}

describe('modelcar layers: deterministic virtual tars', () => {
  it.each(['gnu', 'busybox'] as const)(
    '%s tar extracts every layer to the model files, modes 0644/0755',
    async (tool) => {
      const dir = await hostileModel();
      const layers = planLayers(await walkModelDir(dir), { modelsPath: '/models', layerThreshold: 2000, epoch: 0 });
      expect(layers.map((l) => l.description)).toEqual([
        'models/(directories, links and 6 small files)',
        'models/weights-00001.safetensors',
        'models/weights-00002.safetensors',
      ]);
      const out = await testdir();
      for (const layer of layers) {
        const bytes = await bytesOf(layer.tar);
        expect(bytes.length).toBe(layer.tar.size);
        const extracted = await extractWith(tool, bytes);
        await exec('cp', ['-a', `${extracted}/.`, out]);
      }
      const source = await walkModelDir(dir);
      for (const entry of source) {
        const target = join(out, 'models', entry.path);
        const stats = await lstat(target);
        if (entry.kind === 'file') {
          expect((await readFile(target)).equals(await readFile(join(dir, entry.path))), entry.path).toBe(true);
          expect(stats.mode & 0o777, entry.path).toBe(0o644);
        } else if (entry.kind === 'dir') {
          expect(stats.mode & 0o777, entry.path).toBe(0o755);
        } else {
          expect(await readlink(target)).toBe(entry.target);
        }
      }
      expect((await lstat(join(out, 'models'))).mode & 0o777).toBe(0o755);
    },
  );

  it('streams from any offset exactly the bytes of the full stream', async () => {
    const dir = await hostileModel();
    const [small] = planLayers(await walkModelDir(dir), { modelsPath: '/models', layerThreshold: 2000, epoch: 0 });
    if (small === undefined) throw new Error('no layer');
    const full = await bytesOf(small.tar);
    for (const offset of [0, 1, 511, 512, 513, 1024, 1500, full.length - 1024, full.length - 1, full.length]) {
      expect((await bytesOf(small.tar, offset)).equals(full.subarray(offset)), `offset ${offset}`).toBe(true);
    }
  });

  it('is deterministic: the same directory gives the same bytes, whatever the real mtimes and modes', async () => {
    const dir = await hostileModel();
    const digest = async (tar: VirtualTar): Promise<string> =>
      createHash('sha256')
        .update(await bytesOf(tar))
        .digest('hex');
    const first = planLayers(await walkModelDir(dir), {
      modelsPath: '/models',
      layerThreshold: 2000,
      epoch: 1_700_000_000,
    });
    const firstDigests = await Promise.all(first.map((l) => digest(l.tar)));
    await utimes(join(dir, 'config.json'), new Date(0), new Date(0));
    await chmod(join(dir, 'config.json'), 0o600);
    const second = planLayers(await walkModelDir(dir), {
      modelsPath: '/models',
      layerThreshold: 2000,
      epoch: 1_700_000_000,
    });
    expect(await Promise.all(second.map((l) => digest(l.tar)))).toEqual(firstDigests);
    // The cache key does change with the mtime, so a re-push rehashes the changed layer only.
    expect(first[0]?.cacheKey).not.toBe(second[0]?.cacheKey);
    expect(first[1]?.cacheKey).toBe(second[1]?.cacheKey);
  });

  it('uses a PAX size for a file of 8 GiB or more (sparse, so the test needs no disk)', async () => {
    const dir = await testdir();
    await writeFile(join(dir, 'huge.bin'), '');
    await truncate(join(dir, 'huge.bin'), 9 * 2 ** 30);
    const layers = planLayers(await walkModelDir(dir), {
      modelsPath: '/models',
      layerThreshold: 64 * 2 ** 20,
      epoch: 0,
    });
    const huge = layers[1];
    if (huge === undefined) throw new Error('no layer');
    expect(huge.tar.size).toBe(9 * 2 ** 30 + 3 * 512 + 1024 + 512);
    const headers = huge.tar.segments.flatMap((s) => (s.kind === 'bytes' ? [s.bytes] : [])).slice(0, 2);
    const sizes: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const parser = extract();
      parser.on('entry', (header, stream, next) => {
        sizes.push(header.size);
        stream.resume();
        if (header.type === 'file') resolve();
        else stream.on('end', next);
      });
      parser.on('error', reject);
      parser.write(Buffer.concat(headers));
    });
    expect(sizes.at(-1)).toBe(9 * 2 ** 30);
  });

  it('errors, naming the file, when a file changes while it is read', async () => {
    const dir = await testdir({ 'a.bin': 'x'.repeat(4000) });
    const [, layer] = planLayers(await walkModelDir(dir), { modelsPath: '/models', layerThreshold: 1000, epoch: 0 });
    if (layer === undefined) throw new Error('no layer');
    await writeFile(join(dir, 'a.bin'), 'y'.repeat(4001));
    await expect(bytesOf(layer.tar)).rejects.toThrow(/a\.bin changed while it was being uploaded/);
  });
});

describe('modelcar layers read each file as the walk found it', () => {
  const MTIME = 1_700_000_000;
  async function oneLargeFile(): Promise<{ dir: string; file: string; layer: VirtualTar }> {
    const dir = await testdir({ 'a.bin': 'x'.repeat(4000) });
    const file = join(dir, 'a.bin');
    await utimes(file, MTIME, MTIME);
    const [, layer] = planLayers(await walkModelDir(dir), { modelsPath: '/models', layerThreshold: 1000, epoch: 0 });
    if (layer === undefined) throw new Error('no layer');
    return { dir, file, layer: layer.tar };
  }

  it('a file swapped for a symlink (to a file of the same size and mtime) is refused, never followed', async () => {
    const { file, layer } = await oneLargeFile();
    const decoy = join(await testdir({ 'decoy.bin': 'y'.repeat(4000) }), 'decoy.bin');
    await utimes(decoy, MTIME, MTIME);
    await rm(file);
    await symlink(decoy, file);
    await expect(bytesOf(layer)).rejects.toThrow(ModelChangedError);
    await expect(bytesOf(layer)).rejects.toThrow(/a\.bin changed while it was being uploaded: it is now a symlink/);
  });

  it('a file removed after the walk is refused as a change, naming it', async () => {
    const { file, layer } = await oneLargeFile();
    await rm(file);
    await expect(bytesOf(layer)).rejects.toThrow(/a\.bin changed while it was being uploaded: it is gone/);
  });

  it('a file swapped for a FIFO is refused, not waited on', async () => {
    const { file, layer } = await oneLargeFile();
    await rm(file);
    await exec('mkfifo', [file]);
    await expect(bytesOf(layer)).rejects.toThrow(
      /a\.bin changed while it was being uploaded: it is no longer a regular file/,
    );
  }, 30_000);

  it('every open checks: a resumed read from an offset fails once the file was replaced by another of the same size and mtime', async () => {
    const { dir, file, layer } = await oneLargeFile();
    const full = await bytesOf(layer);
    expect((await bytesOf(layer, 1000)).equals(full.subarray(1000))).toBe(true);
    const staged = join(dir, 'staged');
    await writeFile(staged, 'z'.repeat(4000));
    await utimes(staged, MTIME, MTIME);
    await rename(staged, file);
    await expect(bytesOf(layer, 1000)).rejects.toThrow(
      /a\.bin changed while it was being uploaded: it is another file/,
    );
  });

  it('an in-place rewrite restoring size and mtime before the read is refused (ctime tells)', async () => {
    const { file, layer } = await oneLargeFile();
    await writeFile(file, 'w'.repeat(4000));
    await utimes(file, MTIME, MTIME);
    await expect(bytesOf(layer)).rejects.toThrow(/a\.bin changed while it was being uploaded: it was written to/);
  });
});

describe('walkModelDir refuses what cannot go into an image', () => {
  it('a FIFO, named with its path', async () => {
    const dir = await testdir({ 'ok.txt': 'x' });
    await exec('mkfifo', [join(dir, 'pipe')]);
    await expect(walkModelDir(dir)).rejects.toThrow(/pipe is a FIFO/);
  });

  it('a symlink leading outside the model dir, directly or through another link', async () => {
    const outside = await testdir({ 'secret.txt': 'x' });
    const dir = await testdir({ 'ok.txt': 'x' });
    await symlink(join(outside, 'secret.txt'), join(dir, 'escape'));
    await expect(walkModelDir(dir)).rejects.toThrow(
      /escape is a symlink to .*secret\.txt, outside the model directory/,
    );
    const chained = await testdir({ 'ok.txt': 'x' });
    await symlink('../../../../../../../../etc/hostname', join(chained, 'up'));
    await expect(walkModelDir(chained)).rejects.toThrow(/up is a symlink to .*outside the model directory/);
  });

  it.each([
    ['a missing dir', async () => join(await testdir(), 'nope'), /does not exist/],
    ['a file', async () => join(await testdir({ f: 'x' }), 'f'), /is not a directory/],
    ['an empty dir', async () => testdir(), /holds no files/],
    [
      'a dir of empty dirs',
      async () => {
        const d = await testdir();
        await mkdir(join(d, 'a/b'), { recursive: true });
        return d;
      },
      /holds no files/,
    ],
  ])('%s', async (_name, make, message) => {
    await expect(walkModelDir(await make())).rejects.toThrow(message);
  });

  it('sorts byte-wise, not by locale', async () => {
    const dir = await testdir({ 'b.txt': '', 'B.txt': '', 'a.txt': '', 'ä.txt': '', '_.txt': '' });
    expect((await walkModelDir(dir)).map((e) => e.path)).toEqual(['B.txt', '_.txt', 'a.txt', 'b.txt', 'ä.txt']);
    expect((await readdir(dir)).length).toBe(5);
  });
});
