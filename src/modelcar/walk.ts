import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { access, lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ModelDirError } from '../errors.ts';
import { type FileIdentity, fileIdentity } from './file-identity.ts';

/** One entry of a model directory, relative to it, with what the layer plan and cache key need. */
export type ModelEntry =
  | { readonly kind: 'dir'; readonly path: string }
  | ({ readonly kind: 'file'; readonly path: string; readonly absolute: string } & FileIdentity)
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

// Declared with every other error class in src/errors.ts (one table of codes).
export { ModelDirError };

/**
 * Walk a model directory into a sorted, validated entry list. Sorting is byte-wise on the UTF-8
 * path, never locale-dependent, so every machine plans the same layers. Refused, naming the path:
 * a symlink leading outside the directory (a pod would not have its target), and FIFOs, sockets
 * and devices (reading one blocks or makes no sense in an image).
 */
export async function walkModelDir(dir: string, signal?: AbortSignal): Promise<ModelEntry[]> {
  const root = resolve(dir);
  const info = await lstatOrUndefined(root);
  if (info === undefined)
    throw new ModelDirError(`--model-dir ${dir} does not exist`, {
      hint: 'point --model-dir at the directory holding the model files (on the PVC)',
    });
  const realRoot = await realpath(root);
  if (!(await lstatOrThrow(realRoot)).isDirectory())
    throw new ModelDirError(`--model-dir ${dir} is not a directory`, {
      hint: 'point --model-dir at the directory holding the model files',
    });
  const entries: ModelEntry[] = [];
  await visit(realRoot, '', entries, realRoot, signal);
  if (!entries.some((e) => e.kind === 'file'))
    throw new ModelDirError(`--model-dir ${dir} holds no files`, {
      hint: 'download the model into it first; an empty /models makes KServe fail at start',
    });
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

async function visit(
  realRoot: string,
  rel: string,
  out: ModelEntry[],
  root: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  const absoluteDir = join(root, rel);
  let names: string[];
  try {
    names = await readdir(absoluteDir);
  } catch (error) {
    throw unreadable(rel === '' ? root : absoluteDir, error);
  }
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const absolute = join(root, path);
    const stats = await lstatOrThrow(absolute);
    if (stats.isDirectory()) {
      out.push({ kind: 'dir', path });
      await visit(realRoot, path, out, root, signal);
    } else if (stats.isFile()) {
      await readable(absolute);
      out.push({ kind: 'file', path, absolute, ...fileIdentity(stats) });
    } else if (stats.isSymbolicLink()) {
      out.push({ kind: 'symlink', path, target: await insideTarget(realRoot, absolute) });
    } else {
      throw new ModelDirError(
        `${absolute} is a ${kindOf(stats)}: a model directory may hold only files, directories and symlinks`,
        { hint: 'remove it from the model directory (or move the model files to a clean directory)' },
      );
    }
  }
}

/** The link's target as written, once it is proven to stay inside the model directory. */
async function insideTarget(realRoot: string, link: string): Promise<string> {
  const target = await readlink(link);
  const lexical = resolve(dirname(link), target);
  let resolved = lexical;
  try {
    // Follow chains too: a link to a link that leaves the directory leaves it.
    resolved = await realpath(link);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  for (const candidate of [lexical, resolved]) {
    const rel = relative(realRoot, candidate);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new ModelDirError(`${link} is a symlink to ${target}, outside the model directory`, {
        hint: 'copy the file into the model directory, or make the link relative to a file inside it',
      });
    }
  }
  return target;
}

async function readable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw unreadable(path, error);
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR'))
      return undefined;
    throw unreadable(path, error);
  }
}

async function lstatOrThrow(path: string): Promise<Stats> {
  try {
    return await lstat(path);
  } catch (error) {
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): ModelDirError {
  const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
  return new ModelDirError(`cannot read ${path} (${code})`, {
    hint: 'make the model directory readable by this uid (OpenShift: group 0 needs r-x on dirs, r on files)',
  });
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isSocket()) return 'socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'device file';
  return 'special file';
}
