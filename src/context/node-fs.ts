import { constants, type Dirent, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { FileSystemError } from './fs-error.ts';
import type { DirEntry, FileKind, FileStat, FileSystem } from './types.ts';

/** The real filesystem behind `ctx.fs`. */
export function createNodeFileSystem(): FileSystem {
  return {
    stat: (path) => statOrUndefined(path, fsp.stat),
    lstat: (path) => statOrUndefined(path, fsp.lstat),
    readFile: (path) => wrap(path, () => fsp.readFile(path, 'utf8')),
    readDir: (path) => wrap(path, async () => (await fsp.readdir(path, { withFileTypes: true })).map(toDirEntry)),
    writeFile: (path, data, options = {}) =>
      wrap(path, () =>
        fsp.writeFile(path, data, { mode: options.mode ?? 0o600, flag: options.exclusive ? 'wx' : 'w' }),
      ),
    remove: (path) => wrap(path, () => fsp.rm(path, { force: false, recursive: false })),
    mkdir: (path, options = {}) =>
      wrap(path, async () => {
        await fsp.mkdir(path, { recursive: options.recursive ?? false, mode: options.mode ?? 0o777 });
      }),
    canAccess: async (path, mode) => {
      const flag = { read: constants.R_OK, write: constants.W_OK, execute: constants.X_OK }[mode];
      try {
        await fsp.access(path, flag);
        return true;
      } catch (error) {
        if (errnoCode(error) === undefined) throw error;
        return false;
      }
    },
    statfs: (path) =>
      wrap(path, async () => {
        const s = await fsp.statfs(path);
        return { availableBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
      }),
    diskUsage: (path) => wrap(path, () => diskUsage(path)),
  };
}

async function diskUsage(root: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) {
        bytes += (await fsp.lstat(path)).size;
        files += 1;
      }
    }
  }
  return { bytes, files };
}

async function statOrUndefined(path: string, statFn: (p: string) => Promise<Stats>): Promise<FileStat | undefined> {
  try {
    return toFileStat(await statFn(path));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw toFileSystemError(error, path);
  }
}

async function wrap<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toFileSystemError(error, path);
  }
}

function toFileSystemError(error: unknown, path: string): unknown {
  const code = errnoCode(error);
  if (code === undefined || !(error instanceof Error)) return error;
  return new FileSystemError(code, path, error.message);
}

function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

function toFileStat(s: Stats): FileStat {
  return { kind: kindOf(s), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, mtimeMs: s.mtimeMs };
}

function toDirEntry(d: Dirent): DirEntry {
  return { name: d.name, kind: kindOf(d) };
}

function kindOf(s: Stats | Dirent): FileKind {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isBlockDevice()) return 'block-device';
  if (s.isCharacterDevice()) return 'character-device';
  return 'unknown';
}
