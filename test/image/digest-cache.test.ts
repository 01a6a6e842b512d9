import { readdir, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, openDigestCache } from '../../src/image/digest-cache.ts';
import { testdir } from '../support/testdir.ts';

const digest = `sha256:${'ab'.repeat(32)}`;

function testLog(): { lines: string[]; debug(message: string): void } {
  const lines: string[] = [];
  return { lines, debug: (message) => void lines.push(message) };
}

describe('digest cache', () => {
  it('returns what was stored under the same key, and nothing for another', async () => {
    const cache = openDigestCache(await testdir(), testLog());
    await cache.set('layer:v1:a.bin:100:1700000000:42', { digest, size: 100 });
    expect(await cache.get('layer:v1:a.bin:100:1700000000:42')).toEqual({ digest, size: 100 });
    expect(await cache.get('layer:v1:a.bin:100:1700000001:42')).toBeUndefined();
  });

  it('remembers verified facts by key, and none without a cache dir', async () => {
    const cache = openDigestCache(await testdir(), testLog());
    expect(await cache.verified('modelcar-contract-ok:v1:sha256:aa:linux/amd64')).toBe(false);
    await cache.markVerified('modelcar-contract-ok:v1:sha256:aa:linux/amd64');
    expect(await cache.verified('modelcar-contract-ok:v1:sha256:aa:linux/amd64')).toBe(true);
    expect(await cache.verified('modelcar-contract-ok:v1:sha256:aa:linux/arm64')).toBe(false);
    const none = openDigestCache(undefined, testLog());
    await none.markVerified('x');
    expect(await none.verified('x')).toBe(false);
  });

  it('keeps small content by digest, and treats bytes that no longer hash to it as a miss', async () => {
    const dir = await testdir();
    const cache = openDigestCache(dir, testLog());
    const bytes = Buffer.from('{"schemaVersion":2}');
    const key = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await cache.storeContent(key, { mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes });
    expect(await cache.content(key)).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes });
    expect(await cache.content(digest)).toBeUndefined();
    const [file] = await readdir(join(dir, 'content'));
    expect((await stat(join(dir, 'content', file ?? ''))).mode & 0o777).toBe(0o600);
    await writeFile(
      join(dir, 'content', file ?? ''),
      JSON.stringify({ mediaType: 'x', data: Buffer.from('{"schemaVersion":3}').toString('base64') }),
    );
    expect(await cache.content(key)).toBeUndefined();
    // Not a digest: never a path (no traversal through the key).
    await cache.storeContent('../../escape', { mediaType: 'x', bytes });
    expect(await readdir(dir)).toEqual(['content']);
  });

  it('keeps its files private to the user', async () => {
    const dir = await testdir();
    await openDigestCache(dir, testLog()).set('k', { digest, size: 1 });
    const root = join(dir, 'layer-digests');
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    const [file] = await readdir(root);
    expect((await stat(join(root, file ?? ''))).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['000', 0o000],
    ['077', 0o077],
  ])('under umask %s writes every kind of entry 0600 in 0700 folders, leaving no temp file', async (_label, umask) => {
    const dir = await testdir();
    const before = process.umask(umask);
    try {
      const cache = openDigestCache(dir, testLog());
      const bytes = Buffer.from('{}');
      await cache.set('k', { digest, size: 1 });
      await cache.markVerified('fact');
      await cache.storeContent(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, { mediaType: 'x', bytes });
    } finally {
      process.umask(before);
    }
    for (const folder of ['layer-digests', 'verified', 'content']) {
      expect((await stat(join(dir, folder))).mode & 0o777).toBe(0o700);
      const files = await readdir(join(dir, folder));
      expect(files).toHaveLength(1);
      expect(files[0]).not.toMatch(/tmp/);
      expect((await stat(join(dir, folder, files[0] ?? ''))).mode & 0o777).toBe(0o600);
    }
  });

  it('treats a corrupt entry as a miss', async () => {
    const dir = await testdir();
    const cache = openDigestCache(dir, testLog());
    await cache.set('k', { digest, size: 1 });
    const root = join(dir, 'layer-digests');
    const [file] = await readdir(root);
    await writeFile(join(root, file ?? ''), '{"digest": "sha256:nothex", ');
    expect(await cache.get('k')).toBeUndefined();
  });

  it('a cache dir that cannot be created is a debug line and a miss, never a failed build', async () => {
    // Under a regular file: fails for every uid, root included.
    const dir = await testdir({ 'a-file': 'x' });
    const log = testLog();
    const cache = openDigestCache(join(dir, 'a-file', 'cache'), log);
    await cache.set('k', { digest, size: 1 });
    expect(log.lines.join('\n')).toMatch(/digest cache: cannot write .*ENOTDIR/);
    expect(await cache.get('k')).toBeUndefined();
  });

  it.each([
    [{ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }, '/x/cache/preflight'],
    [{ HOME: '/home/u' }, '/home/u/.cache/preflight'],
    [{ HOME: '/' }, undefined],
    [{}, undefined],
  ])('default dir for %o is %s', (env, expected) => {
    expect(defaultCacheDir(env)).toBe(expected);
  });
});
