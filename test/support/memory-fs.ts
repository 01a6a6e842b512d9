import { posix } from 'node:path';
import { FileSystemError, isFileSystemError } from '../../src/plugin.ts';
import type { DirEntry, DiskUsage, FileStat, FileSystem, FsSpace, UserInfo } from '../../src/plugin.ts';

/** Owner and times a fixture node may set; missing fields fall back to root:root. */
export interface NodeOptions {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtimeMs?: number;
}

/** A fixture entry: build it with {@link dir}, {@link file} or {@link symlink}. */
export type NodeSpec =
  | (NodeOptions & { readonly kind: 'directory' })
  | (NodeOptions & { readonly kind: 'file'; readonly content?: string; readonly size?: number })
  | (NodeOptions & { readonly kind: 'symlink'; readonly target: string });

/** A mounted filesystem: what `statfs` answers below its prefix, and whether writes fail with EROFS. */
export interface MountSpec {
  readonly availableBytes: number;
  readonly totalBytes: number;
  readonly readOnly?: boolean;
}

export interface MemoryFsOptions {
  /** Who makes the calls: permission bits are checked against this identity. */
  readonly user: Pick<UserInfo, 'uid' | 'gid' | 'groups'>;
  /** Absolute path → node. Missing ancestors become root-owned 0755 directories. */
  readonly files?: Readonly<Record<string, NodeSpec>>;
  /** Mount prefix → space; the longest prefix wins. `/` defaults to 100 GiB free of 200 GiB. */
  readonly mounts?: Readonly<Record<string, MountSpec>>;
  readonly umask?: number;
  readonly now?: () => number;
}

/** The in-memory filesystem, plus what a test needs to look at afterwards. */
export interface MemoryFs extends FileSystem {
  /** Every path that exists, sorted: compare before and after to prove nothing was left behind. */
  paths(): string[];
  /** The mutating calls made, in order (`writeFile /tmp/x`, `remove /tmp/x`, `mkdir /a`). */
  operations(): readonly string[];
}

/** A directory fixture; `mode` defaults to 0755. */
export function dir(mode = 0o755, options: Omit<NodeOptions, 'mode'> = {}): NodeSpec {
  return { kind: 'directory', mode, ...options };
}

/** A file fixture: text content, or a size alone for files too big to hold (a 48 GiB model). */
export function file(content: string | { size: number }, options: NodeOptions = {}): NodeSpec {
  const body = typeof content === 'string' ? { content } : { size: content.size };
  return { kind: 'file', mode: 0o644, ...options, ...body };
}

export function symlink(target: string, options: Omit<NodeOptions, 'mode'> = {}): NodeSpec {
  return { kind: 'symlink', target, mode: 0o777, ...options };
}

/** One inode: `content` is undefined for files declared by size only; `target` is for symlinks. */
interface MemNode extends Omit<FileStat, 'kind'> {
  kind: 'file' | 'directory' | 'symlink';
  content: string | undefined;
  target: string;
}

const GiB = 1024 ** 3;
const MAX_SYMLINKS = 40;
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file already exists',
  EISDIR: 'illegal operation on a directory',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ELOOP: 'too many symbolic links encountered',
};

/** POSIX-ish semantics for checks: permission bits, search permission on ancestors, errno codes. */
export function createMemoryFs(options: MemoryFsOptions): MemoryFs {
  const { user } = options;
  const umask = options.umask ?? 0o022;
  const now = options.now ?? (() => Date.UTC(2026, 10, 23, 12));
  const mounts = options.mounts ?? {};
  const nodes = new Map<string, MemNode>();
  const log: string[] = [];

  const makeNode = (kind: MemNode['kind'], init: Partial<MemNode>): MemNode => ({
    kind,
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtimeMs: now(),
    content: undefined,
    size: 0,
    target: '',
    ...init,
  });
  nodes.set('/', makeNode('directory', {}));
  for (const [path, spec] of Object.entries(options.files ?? {})) {
    const abs = posix.resolve('/', path);
    for (let parent = posix.dirname(abs); !nodes.has(parent); parent = posix.dirname(parent)) {
      nodes.set(parent, makeNode('directory', {}));
    }
    const size = spec.kind === 'file' ? (spec.size ?? Buffer.byteLength(spec.content ?? '')) : 0;
    nodes.set(abs, makeNode(spec.kind, { ...spec, size }));
  }

  const error = (code: string, syscall: string, path: string): FileSystemError =>
    new FileSystemError(code, path, `${code}: ${DESCRIPTIONS[code] ?? code}, ${syscall} '${path}'`);

  const inGroup = (gid: number): boolean => gid === user.gid || user.groups.includes(gid);

  /** access(2): one class of bits applies (owner, else group, else other); root skips r/w. */
  const permits = (node: MemNode, bit: 4 | 2 | 1): boolean => {
    if (user.uid === 0) return bit !== 1 || node.kind === 'directory' || (node.mode & 0o111) !== 0;
    const shift = node.uid === user.uid ? 6 : inGroup(node.gid) ? 3 : 0;
    return ((node.mode >> shift) & bit) !== 0;
  };

  const mountOf = (path: string): MountSpec => {
    const prefixes = Object.keys(mounts).filter((m) => path === m || path.startsWith(m.endsWith('/') ? m : `${m}/`));
    const best = prefixes.sort((a, b) => b.length - a.length)[0];
    return (best === undefined ? undefined : mounts[best]) ?? { availableBytes: 100 * GiB, totalBytes: 200 * GiB };
  };

  /**
   * Walk `input` from `/`, needing search permission on every directory passed through and
   * following symlinks (the last one only when `followLast`). Answers the real path and its node,
   * undefined when only the last component is missing.
   */
  const lookup = (input: string, syscall: string, followLast: boolean): { path: string; node: MemNode | undefined } => {
    let pending = posix.resolve('/', input);
    for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
      const parts = pending.split('/').filter((p) => p !== '');
      let current = '/';
      let restart: string | undefined;
      for (const [i, name] of parts.entries()) {
        const parent = nodes.get(current);
        if (parent === undefined) throw error('ENOENT', syscall, input);
        if (parent.kind !== 'directory') throw error('ENOTDIR', syscall, input);
        if (!permits(parent, 1)) throw error('EACCES', syscall, input);
        const next = posix.join(current, name);
        const node = nodes.get(next);
        const last = i === parts.length - 1;
        if (node === undefined) {
          if (last) return { path: next, node: undefined };
          throw error('ENOENT', syscall, input);
        }
        if (node.kind === 'symlink' && (!last || followLast)) {
          restart = posix.resolve(current, node.target, ...parts.slice(i + 1));
          break;
        }
        current = next;
      }
      if (restart === undefined) return { path: current, node: nodes.get(current) };
      pending = restart;
    }
    throw error('ELOOP', syscall, input);
  };

  const existing = (path: string, syscall: string, followLast = true): { path: string; node: MemNode } => {
    const found = lookup(path, syscall, followLast);
    if (found.node === undefined) throw error('ENOENT', syscall, path);
    return { path: found.path, node: found.node };
  };

  /**
   * Creating or deleting `path`'s entry needs write and search on its directory, on a writable
   * mount. Answers the directory and the entry's real path (ancestors' symlinks resolved).
   */
  const writableParent = (path: string, syscall: string): { parent: MemNode; realPath: string } => {
    const above = existing(posix.dirname(posix.resolve('/', path)), syscall);
    if (above.node.kind !== 'directory') throw error('ENOTDIR', syscall, path);
    if (!permits(above.node, 2) || !permits(above.node, 1)) throw error('EACCES', syscall, path);
    const realPath = posix.join(above.path, posix.basename(path));
    if (mountOf(realPath).readOnly === true) throw error('EROFS', syscall, path);
    return { parent: above.node, realPath };
  };

  /** A new entry's group: the directory's when it is setgid (how group-0 trees stay group 0). */
  const newOwner = (parent: MemNode): { uid: number; gid: number } => ({
    uid: user.uid,
    gid: (parent.mode & 0o2000) !== 0 ? parent.gid : user.gid,
  });

  const toStat = (node: MemNode): FileStat => ({
    kind: node.kind,
    mode: node.mode & 0o7777,
    uid: node.uid,
    gid: node.gid,
    size: node.size,
    mtimeMs: node.mtimeMs,
  });

  const statWith = (path: string, followLast: boolean): FileStat | undefined => {
    try {
      const found = lookup(path, followLast ? 'stat' : 'lstat', followLast);
      return found.node === undefined ? undefined : toStat(found.node);
    } catch (e) {
      // node-fs answers undefined for ENOENT only; anything else is an error there too.
      if (isFileSystemError(e, 'ENOENT')) return undefined;
      throw e;
    }
  };

  const children = (path: string): [string, MemNode][] =>
    [...nodes].filter(([p]) => p !== '/' && posix.dirname(p) === path);

  const fs: MemoryFs = {
    stat: (path) => later(() => statWith(path, true)),
    lstat: (path) => later(() => statWith(path, false)),

    readFile: (path) =>
      later(() => {
        const { node } = existing(path, 'open');
        if (node.kind === 'directory') throw error('EISDIR', 'read', path);
        if (!permits(node, 4)) throw error('EACCES', 'open', path);
        if (node.content === undefined)
          throw new Error(`memory-fs: ${path} was declared by size only; give it content to read it`);
        return node.content;
      }),

    readDir: (path) =>
      later(() => {
        const found = existing(path, 'scandir');
        if (found.node.kind !== 'directory') throw error('ENOTDIR', 'scandir', path);
        if (!permits(found.node, 4)) throw error('EACCES', 'scandir', path);
        return children(found.path)
          .map(([p, n]): DirEntry => ({ name: posix.basename(p), kind: n.kind }))
          .sort((a, b) => a.name.localeCompare(b.name));
      }),

    writeFile: (path, data, opts = {}) =>
      later(() => {
        const before = lookup(path, 'open', false);
        if (before.node !== undefined && opts.exclusive === true) throw error('EEXIST', 'open', path);
        const found = before.node?.kind === 'symlink' ? lookup(path, 'open', true) : before;
        if (found.node?.kind === 'directory') throw error('EISDIR', 'open', path);
        if (found.node !== undefined) {
          if (!permits(found.node, 2)) throw error('EACCES', 'open', path);
          if (mountOf(found.path).readOnly === true) throw error('EROFS', 'open', path);
          nodes.set(found.path, { ...found.node, content: data, size: Buffer.byteLength(data), mtimeMs: now() });
        } else {
          const { parent, realPath } = writableParent(found.path, 'open');
          const mode = (opts.mode ?? 0o600) & ~umask & 0o7777;
          nodes.set(
            realPath,
            makeNode('file', { ...newOwner(parent), mode, content: data, size: Buffer.byteLength(data) }),
          );
        }
        log.push(`writeFile ${found.path}`);
      }),

    remove: (path) =>
      later(() => {
        const found = existing(path, 'rm', false);
        // node-fs removes with fs.rm without `recursive`, which refuses directories, empty or not.
        if (found.node.kind === 'directory') throw error('ERR_FS_EISDIR', 'rm', path);
        const { parent } = writableParent(found.path, 'unlink');
        const sticky = (parent.mode & 0o1000) !== 0;
        if (sticky && user.uid !== 0 && found.node.uid !== user.uid && parent.uid !== user.uid) {
          throw error('EPERM', 'unlink', path);
        }
        nodes.delete(found.path);
        log.push(`remove ${found.path}`);
      }),

    mkdir: (path, opts = {}) =>
      later(() => {
        const mode = (opts.mode ?? 0o777) & ~umask & 0o7777;
        const create = (p: string): void => {
          const { parent, realPath } = writableParent(p, 'mkdir');
          nodes.set(realPath, makeNode('directory', { ...newOwner(parent), mode: mode | (parent.mode & 0o2000) }));
          log.push(`mkdir ${realPath}`);
        };
        if (opts.recursive !== true) {
          // lookup throws ENOENT itself when the parent is missing.
          if (lookup(path, 'mkdir', true).node !== undefined) throw error('EEXIST', 'mkdir', path);
          create(path);
          return;
        }
        const parts = posix
          .resolve('/', path)
          .split('/')
          .filter((p) => p !== '');
        for (const [i] of parts.entries()) {
          const p = `/${parts.slice(0, i + 1).join('/')}`;
          const found = lookup(p, 'mkdir', true);
          if (found.node === undefined) create(p);
          else if (found.node.kind !== 'directory')
            throw error(i === parts.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
        }
      }),

    canAccess: (path, mode) =>
      later(() => {
        let found: { path: string; node: MemNode };
        try {
          found = existing(path, 'access');
        } catch (e) {
          if (isFileSystemError(e)) return false;
          throw e;
        }
        if (mode === 'write' && mountOf(found.path).readOnly === true) return false;
        return permits(found.node, mode === 'read' ? 4 : mode === 'write' ? 2 : 1);
      }),

    statfs: (path) =>
      later((): FsSpace => {
        const found = existing(path, 'statfs');
        const { availableBytes, totalBytes } = mountOf(found.path);
        return { availableBytes, totalBytes };
      }),

    diskUsage: (path) =>
      later((): DiskUsage => {
        let bytes = 0;
        let files = 0;
        const pending = [existing(path, 'scandir')];
        for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
          if (next.node.kind !== 'directory') throw error('ENOTDIR', 'scandir', next.path);
          if (!permits(next.node, 4) || !permits(next.node, 1)) throw error('EACCES', 'scandir', next.path);
          for (const [p, node] of children(next.path)) {
            if (node.kind === 'directory') pending.push({ path: p, node });
            else if (node.kind === 'file') {
              bytes += node.size;
              files += 1;
            }
          }
        }
        return { bytes, files };
      }),

    paths: () => [...nodes.keys()].sort(),
    operations: () => [...log],
  };
  return fs;
}

/** Run `fn` now, delivering its throw as a rejection, as node:fs/promises does. */
function later<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(fn());
  });
}
