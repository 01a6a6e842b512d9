import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileWriteError } from '../errors.ts';

export { FileWriteError };

/** Only the user may read it: reports and caches name images, accounts and namespaces. */
export const PRIVATE_FILE = 0o600;
/**
 * Others may read it: a pipeline's result files (a digest, an image reference), which the next
 * Tekton step or the KFP launcher may read as another uid. Nothing private goes in these.
 */
export const SHARED_FILE = 0o644;
/**
 * A folder created for an output (a KFP outputPath's parent does not exist yet): others may enter
 * it, as the next step may run as another uid; the files in it carry their own mode. The umask
 * applies, as it does to `mkdir -p`.
 */
const NEW_FOLDER = 0o755;
/** What the probe writes: one block, so a full disk shows before the push instead of after it. */
const PROBE_BYTES = 4096;

/** An output path and the flag that named it, for the message. */
export interface OutputPath {
  readonly flag: string;
  readonly path: string | undefined;
}

/**
 * Write `data` to `path` so that a reader never sees half a file and nobody can steer the write:
 * the temp file gets a random name and is created with O_EXCL (`wx`), which refuses any existing
 * name, a symlink planted there included; the rename then replaces whatever is at `path` (a symlink
 * too) instead of following it. The mode is set on the open file, so the umask neither widens nor
 * narrows it, before any byte is written. The folder is created when missing. On any failure the
 * temp file is removed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  await throughTempFile(path, { mode, data, exitCode: 1 }, (temp) => rename(temp, path));
}

/**
 * Before any work whose result goes to these files: show that each can be written, the way
 * {@link writeFileAtomic} will write it (its folder created, a temp file beside it with the same
 * O_EXCL random name, one block written, then removed), so that an unusable path fails with nothing
 * pushed rather than after the push. What can change in between (the disk filling up) still fails
 * the write itself, which leaves no half-written file.
 */
export async function probeOutputFiles(
  outputs: readonly OutputPath[],
  nothingDone = 'nothing was pushed',
): Promise<void> {
  for (const { flag, path } of outputs) {
    if (path === undefined) continue;
    // A folder at the path would fail only the rename, after the push: say so now. Any other lstat
    // failure (ENOENT, ENOTDIR, EACCES) shows again in the temp-file step, worded as the write's.
    const existing = await lstat(path).catch(() => undefined);
    const probe = { mode: PRIVATE_FILE, data: Buffer.alloc(PROBE_BYTES), exitCode: 2, flag, nothingDone } as const;
    if (existing?.isDirectory() === true) throw outputError(path, 'EISDIR', undefined, probe);
    await throughTempFile(path, probe, (temp) => rm(temp));
  }
}

interface TempWrite {
  readonly mode: number;
  readonly data: string | Uint8Array;
  readonly exitCode: 1 | 2;
  readonly flag?: string;
  /** What a probe's error adds: nothing was done yet (`nothing was pushed`, `no check was run`). */
  readonly nothingDone?: string;
}

/**
 * The one temp-file scheme of the probe and the write: create the folder, create a random name
 * beside `path` with O_EXCL and `mode`, write `data`, close, then `finish` (rename it over `path`,
 * or remove it); on any failure the temp file is removed.
 */
async function throughTempFile(path: string, write: TempWrite, finish: (temp: string) => Promise<void>): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let created = false;
  try {
    await mkdir(dirname(path), { recursive: true, mode: NEW_FOLDER }).catch((error: unknown) => {
      // `mkdir -p` through a regular file says EEXIST; what the user must hear is "not a folder".
      throw errorCode(error) === 'EEXIST' ? outputError(path, 'ENOTDIR', error, write) : error;
    });
    const handle = await open(temp, 'wx', write.mode);
    created = true;
    try {
      await handle.chmod(write.mode);
      await handle.writeFile(write.data);
    } finally {
      await handle.close();
    }
    await finish(temp);
  } catch (error) {
    if (created)
      await rm(temp, { force: true }).catch((rmError: unknown) => {
        throw outputError(path, codeOf(rmError), rmError, {
          ...write,
          extra: ` (and the temp file ${temp} could not be removed)`,
        });
      });
    throw error instanceof FileWriteError ? error : outputError(path, codeOf(error), error, write);
  }
}

const HINTS: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a file, not a folder: choose a path inside a folder',
  EISDIR: 'the path is a folder: name a file inside it',
  EACCES: 'the folder is not writable by this user: choose a writable folder (in a pod, one the pod uid may write)',
  EPERM: 'the folder is not writable by this user: choose a writable folder (in a pod, one the pod uid may write)',
  EROFS: 'the file system is read-only: choose a path on a writable volume',
  ENOSPC: 'the disk is full: free space there or choose another volume',
  EDQUOT: 'the disk quota is used up: free space there or choose another volume',
};

function outputError(
  path: string,
  code: string,
  cause: unknown,
  options: {
    readonly exitCode: 1 | 2;
    readonly flag?: string | undefined;
    readonly extra?: string;
    readonly nothingDone?: string | undefined;
  },
): FileWriteError {
  const named = options.flag === undefined ? path : `${options.flag} ${path}`;
  const nothingDone = options.nothingDone === undefined ? '' : `: ${options.nothingDone}`;
  return new FileWriteError(`cannot write ${named} (${code})${options.extra ?? ''}${nothingDone}`, {
    hint: HINTS[code] ?? 'check that the path names a file in a folder this user may write',
    cause,
    exitCode: options.exitCode,
  });
}

function codeOf(error: unknown): string {
  return errorCode(error) ?? String(error);
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
