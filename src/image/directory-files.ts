import { realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UsageError } from '../errors.ts';
import { SmallFileError, readSmallFile } from '../util/small-file.ts';

/** A file of a layout directory, checked: a regular file whose real path lies inside the layout. */
export interface LayoutFile {
  /** The real path (links resolved), which every later open uses. */
  readonly path: string;
  readonly size: number;
}

const HINT =
  "a layout's files must be regular files inside its directory: copy the image into a fresh layout (skopeo copy … oci:DIR:TAG)";

/**
 * `relative` inside the layout `root`, or undefined when absent. A link is followed only while its
 * real path stays inside the layout (a layout made by `cp -rs` still works; `index.json` →
 * `/dev/zero` or `/etc/shadow` does not), and the file must be a regular one: a FIFO would block
 * the read forever, a device never ends. `what` names the file in messages.
 */
export async function layoutFile(
  root: string,
  relativePath: string,
  what: string,
  description: string,
): Promise<LayoutFile | undefined> {
  const real = await ifPresent(realpath(join(root, relativePath)), what, description);
  if (real === undefined) return undefined;
  const realRoot = await realpath(root);
  const inside = relative(realRoot, real);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`)) {
    throw new UsageError(`${description}: ${what} is a link to ${real}, outside the layout`, { hint: HINT });
  }
  const info = await stat(real);
  if (!info.isFile()) throw new UsageError(`${description}: ${what} is not a regular file`, { hint: HINT });
  return { path: real, size: info.size };
}

/** Read a checked layout file whole: see {@link readSmallFile}. */
export async function readLayoutFile(
  file: LayoutFile,
  limit: number,
  what: string,
  description: string,
): Promise<Buffer> {
  const tooLarge = (size: number | undefined): UsageError =>
    new UsageError(
      `${description}: ${what} is ${size === undefined ? `more than ${limit}` : size} bytes, above the limit of ${limit}`,
      {
        hint: `${what} is a small JSON document; this one is damaged or not part of an image`,
      },
    );
  if (file.size > limit) throw tooLarge(file.size);
  try {
    // No link is followed: the real path was just resolved, a link there now is a swap.
    return await readSmallFile(file.path, limit, { noFollow: true });
  } catch (error) {
    if (!(error instanceof SmallFileError)) throw error;
    throw error.reason === 'too-large'
      ? tooLarge(error.size)
      : new UsageError(`${description}: ${what} is not a regular file`, { hint: HINT });
  }
}

/** Absent is undefined; a link loop or a permission problem is the user's to fix, said in one line. */
async function ifPresent<T>(promise: Promise<T>, what: string, description: string): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP' || code === 'EACCES' || code === 'EPERM')
      throw new UsageError(`${description}: cannot read ${what} (${code})`, { hint: HINT });
    throw error;
  }
}
