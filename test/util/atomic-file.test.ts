import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FileWriteError,
  PRIVATE_FILE,
  probeOutputFiles,
  SHARED_FILE,
  writeFileAtomic,
} from '../../src/util/atomic-file.ts';
import { testdir } from '../support/testdir.ts';

let umaskBefore: number | undefined;
afterEach(() => {
  if (umaskBefore !== undefined) process.umask(umaskBefore);
  umaskBefore = undefined;
});

/** A file someone else owns, that a planted symlink points at: it must never change. */
async function victim(dir: string): Promise<string> {
  const path = join(dir, 'victim');
  await writeFile(path, 'untouched');
  return path;
}

describe('writeFileAtomic (issue 13, case 8)', () => {
  it('never writes through a symlink planted at the old predictable temp name', async () => {
    const dir = await testdir();
    const target = await victim(dir);
    await symlink(target, join(dir, `.report.json.${process.pid}.tmp`));
    await writeFileAtomic(join(dir, 'report.json'), '{"ok":true}', PRIVATE_FILE);
    expect(await readFile(target, 'utf8')).toBe('untouched');
    expect((await lstat(join(dir, 'report.json'))).isFile()).toBe(true);
    expect(await readFile(join(dir, 'report.json'), 'utf8')).toBe('{"ok":true}');
  });

  it('replaces a symlink planted at the target instead of following it', async () => {
    const dir = await testdir();
    const target = await victim(dir);
    await symlink(target, join(dir, 'image_uri'));
    await writeFileAtomic(join(dir, 'image_uri'), 'repo@sha256:0', SHARED_FILE);
    expect(await readFile(target, 'utf8')).toBe('untouched');
    expect((await lstat(join(dir, 'image_uri'))).isFile()).toBe(true);
    expect(await readFile(join(dir, 'image_uri'), 'utf8')).toBe('repo@sha256:0');
  });

  it.each([
    ['000', 0o000, '600', PRIVATE_FILE],
    ['077', 0o077, '600', PRIVATE_FILE],
    ['000', 0o000, '644', SHARED_FILE],
    ['077', 0o077, '644', SHARED_FILE],
  ])('under umask %s gives exactly mode %s, for a new file and one it replaces', async (_u, umask, _m, mode) => {
    const dir = await testdir({ existing: 'old' });
    umaskBefore = process.umask(umask);
    for (const name of ['new', 'existing']) {
      await writeFileAtomic(join(dir, name), 'data', mode);
      expect((await stat(join(dir, name))).mode & 0o777).toBe(mode);
    }
  });

  it('on a failure leaves neither a temp file nor a changed target', async () => {
    const dir = await testdir();
    // A directory at the target: the rename fails after the temp file was written.
    await mkdir(join(dir, 'out', 'report.json'), { recursive: true });
    await expect(writeFileAtomic(join(dir, 'out', 'report.json'), 'data', PRIVATE_FILE)).rejects.toThrow(
      /report\.json/,
    );
    expect(await readdir(join(dir, 'out'))).toEqual(['report.json']);
    expect((await stat(join(dir, 'out', 'report.json'))).isDirectory()).toBe(true);
  });
});

describe('output folders and the write probe (issue 14, Outputs)', () => {
  it('creates a missing folder (0755 under umask 022) and writes the file into it', async () => {
    const dir = await testdir();
    umaskBefore = process.umask(0o022);
    await writeFileAtomic(join(dir, 'outputs', 'nested', 'image_uri'), 'repo@sha256:0', SHARED_FILE);
    expect(await readFile(join(dir, 'outputs', 'nested', 'image_uri'), 'utf8')).toBe('repo@sha256:0');
    expect((await stat(join(dir, 'outputs'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dir, 'outputs', 'nested'))).mode & 0o777).toBe(0o755);
  });

  it('probes: creates the folder, leaves no file, and keeps an existing target as it was', async () => {
    const dir = await testdir({ 'old/report.json': 'previous' });
    await probeOutputFiles([
      { flag: '--image-uri-file', path: join(dir, 'new', 'image_uri') },
      { flag: '--report-file', path: join(dir, 'old', 'report.json') },
      { flag: '--image-digest-file', path: undefined },
    ]);
    expect(await readdir(join(dir, 'new'))).toEqual([]);
    expect(await readdir(join(dir, 'old'))).toEqual(['report.json']);
    expect(await readFile(join(dir, 'old', 'report.json'), 'utf8')).toBe('previous');
  });

  it.each([
    ['under a regular file', 'a-file/out', 'ENOTDIR'],
    ['under a regular file, two levels down', 'a-file/sub/out', 'ENOTDIR'],
    ['naming a folder', 'a-folder', 'EISDIR'],
  ])('refuses a path %s with exit 2, naming the flag and the path, leaving nothing', async (_case, rel, code) => {
    const dir = await testdir({ 'a-file': 'x', 'a-folder/keep': 'y' });
    const path = join(dir, rel);
    const error: unknown = await probeOutputFiles([{ flag: '--digest-file', path }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileWriteError);
    expect(error).toMatchObject({
      exitCode: 2,
      message: `cannot write --digest-file ${path} (${code}): nothing was pushed`,
    });
    expect(await readdir(dir)).toEqual(['a-file', 'a-folder']);
    expect(await readdir(join(dir, 'a-folder'))).toEqual(['keep']);
  });

  it('a write that fails after the work is exit 1 (an I/O failure), not a usage error', async () => {
    const dir = await testdir({ 'a-file': 'x' });
    const error: unknown = await writeFileAtomic(join(dir, 'a-file', 'out'), 'd', SHARED_FILE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileWriteError);
    expect(error).toMatchObject({ exitCode: 1, message: `cannot write ${join(dir, 'a-file', 'out')} (ENOTDIR)` });
  });
});
