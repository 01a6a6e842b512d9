import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ModelChangedError } from '../errors.ts';
import { type FileIdentity, fileIdentity, identityDifference } from './file-identity.ts';
import { END_OF_ARCHIVE, padding, tarHeader } from './tar-header.ts';

/** A piece of a virtual tar: fixed bytes, or a model file (its absolute path) as the walk found it. */
export type Segment =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | ({ readonly kind: 'file'; readonly path: string } & FileIdentity);

/** What goes into one layer, in order. Directories end with `/`; a file's `path` is absolute. */
export type TarEntry =
  | { readonly type: 'dir'; readonly name: string }
  | { readonly type: 'symlink'; readonly name: string; readonly target: string }
  | ({ readonly type: 'file'; readonly name: string; readonly path: string } & FileIdentity);

// Declared with every other error class in src/errors.ts (one table of codes).
export { ModelChangedError };

/**
 * A layer that exists only as a plan: header bytes, file ranges and padding at known offsets. Its
 * exact size is known before a byte is read, and `open(offset)` streams from anywhere in it, which
 * is what lets an upload resume without a temp file. Each read opens the file without following a
 * link and checks that the descriptor is the file the walk recorded (see {@link FileIdentity}), and
 * again after the last byte: a file swapped or rewritten mid-build must not be published.
 */
export interface VirtualTar {
  readonly size: number;
  readonly segments: readonly Segment[];
  open(offset: number): Readable;
}

const READ_SIZE = 2 ** 20;
const ZEROS = Buffer.alloc(END_OF_ARCHIVE);

/** Counts model-file bytes read, for the build report (each byte should be read once). */
export interface ReadStats {
  bytesRead: number;
}

export function virtualTar(
  entries: readonly TarEntry[],
  mtime: number,
  stats: ReadStats = { bytesRead: 0 },
): VirtualTar {
  const segments: Segment[] = [];
  for (const entry of entries) {
    if (entry.type === 'file') {
      segments.push({ kind: 'bytes', bytes: tarHeader({ name: entry.name, type: 'file', size: entry.size, mtime }) });
      if (entry.size > 0) segments.push({ kind: 'file', path: entry.path, ...fileIdentity(entry) });
      const pad = padding(entry.size);
      if (pad > 0) segments.push({ kind: 'bytes', bytes: ZEROS.subarray(0, pad) });
    } else if (entry.type === 'dir') {
      segments.push({ kind: 'bytes', bytes: tarHeader({ name: entry.name, type: 'dir', size: 0, mtime }) });
    } else {
      segments.push({
        kind: 'bytes',
        bytes: tarHeader({ name: entry.name, type: 'symlink', size: 0, linkname: entry.target, mtime }),
      });
    }
  }
  segments.push({ kind: 'bytes', bytes: ZEROS });
  const starts: number[] = [];
  let size = 0;
  for (const segment of segments) {
    starts.push(size);
    size += segment.kind === 'bytes' ? segment.bytes.length : segment.size;
  }
  return {
    size,
    segments,
    open: (offset) =>
      Readable.from(read(segments, starts, offset, stats), { objectMode: false, highWaterMark: READ_SIZE }),
  };
}

async function* read(
  segments: readonly Segment[],
  starts: readonly number[],
  offset: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  // The last segment starting at or before `offset`.
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((starts[mid] ?? Infinity) <= offset) lo = mid;
    else hi = mid - 1;
  }
  for (let i = lo; i < segments.length; i++) {
    const segment = segments[i];
    const skip = i === lo ? offset - (starts[i] ?? 0) : 0;
    if (segment === undefined) break;
    if (segment.kind === 'bytes') {
      if (skip < segment.bytes.length) yield segment.bytes.subarray(skip);
    } else if (skip < segment.size) {
      yield* readFile(segment, skip, stats);
    }
  }
}

async function* readFile(
  segment: Extract<Segment, { kind: 'file' }>,
  from: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  const handle = await openAsWalked(segment);
  try {
    let position = from;
    while (position < segment.size) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, segment.size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw changed(segment.path, `it ended at ${position} of ${segment.size} bytes`);
      position += bytesRead;
      stats.bytesRead += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    const difference = identityDifference(segment, fileIdentity(await handle.stat()));
    if (difference !== undefined) throw changed(segment.path, difference);
  } finally {
    await handle.close();
  }
}

// No link is followed at the last component, and a FIFO put in the file's place cannot block the
// open (O_NONBLOCK does nothing to a regular file's reads); the identity check refuses both.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The descriptor every read of a model file comes from, once it is proven to be the file the walk
 * recorded: the same inode on the same device (a file renamed over it, or a directory above it
 * swapped for a link, is another inode) with the same size, mtime and ctime.
 */
async function openAsWalked(segment: Extract<Segment, { kind: 'file' }>): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(segment.path, OPEN_FLAGS);
  } catch (error) {
    const why = openFailure(error);
    if (why === undefined) throw error;
    throw changed(segment.path, why);
  }
  try {
    const now = await handle.stat();
    // Checked apart: a freed inode number is reused at once (ext4), so a FIFO can take the file's.
    if (!now.isFile()) throw changed(segment.path, 'it is no longer a regular file');
    const difference = identityDifference(segment, fileIdentity(now));
    if (difference !== undefined) throw changed(segment.path, difference);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** What an open's failure says about the file, when it says the file changed since the walk. */
function openFailure(error: unknown): string | undefined {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  // O_NOFOLLOW on a symlink fails with ELOOP (Linux, macOS) or EMLINK (FreeBSD).
  if (code === 'ELOOP' || code === 'EMLINK') return 'it is now a symlink';
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'it is gone';
  if (code === 'EACCES' || code === 'EPERM') return 'it is no longer readable';
  return undefined;
}

function changed(path: string, why: string): ModelChangedError {
  return new ModelChangedError(`${path} changed while it was being uploaded: ${why}`, {
    hint: 'let whatever changes the model directory finish, then run the build again; no manifest was pushed',
  });
}
