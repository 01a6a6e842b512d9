import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { PreflightError } from '../errors.ts';
import { END_OF_ARCHIVE, padding, tarHeader } from './tar-header.ts';

/** A piece of a virtual tar: fixed bytes, or a range of a model file as it was when planned. */
export type Segment =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'file'; readonly path: string; readonly size: number; readonly mtimeMs: number };

/** What goes into one layer, in order. Directories end with `/`. */
export type TarEntry =
  | { readonly type: 'dir'; readonly name: string }
  | { readonly type: 'symlink'; readonly name: string; readonly target: string }
  | { readonly type: 'file'; readonly name: string; readonly path: string; readonly size: number; readonly mtimeMs: number };

export class ModelChangedError extends PreflightError {
  override readonly exitCode = 1;
}

/**
 * A layer that exists only as a plan: header bytes, file ranges and padding at known offsets. Its
 * exact size is known before a byte is read, and `open(offset)` streams from anywhere in it, which
 * is what lets an upload resume without a temp file. Reading checks that each file still has the
 * size and mtime it had when the layer was planned: a model rewritten mid-push must not be published.
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

export function virtualTar(entries: readonly TarEntry[], mtime: number, stats: ReadStats = { bytesRead: 0 }): VirtualTar {
  const segments: Segment[] = [];
  for (const entry of entries) {
    if (entry.type === 'file') {
      segments.push({ kind: 'bytes', bytes: tarHeader({ name: entry.name, type: 'file', size: entry.size, mtime }) });
      if (entry.size > 0) segments.push({ kind: 'file', path: entry.path, size: entry.size, mtimeMs: entry.mtimeMs });
      const pad = padding(entry.size);
      if (pad > 0) segments.push({ kind: 'bytes', bytes: ZEROS.subarray(0, pad) });
    } else if (entry.type === 'dir') {
      segments.push({ kind: 'bytes', bytes: tarHeader({ name: entry.name, type: 'dir', size: 0, mtime }) });
    } else {
      segments.push({ kind: 'bytes', bytes: tarHeader({ name: entry.name, type: 'symlink', size: 0, linkname: entry.target, mtime }) });
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
    open: (offset) => Readable.from(read(segments, starts, offset, stats), { objectMode: false, highWaterMark: READ_SIZE }),
  };
}

async function* read(segments: readonly Segment[], starts: readonly number[], offset: number, stats: ReadStats): AsyncGenerator<Buffer> {
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

async function* readFile(segment: Extract<Segment, { kind: 'file' }>, from: number, stats: ReadStats): AsyncGenerator<Buffer> {
  const handle = await open(segment.path, 'r');
  try {
    const changed = (why: string): ModelChangedError =>
      new ModelChangedError(`${segment.path} changed while it was being uploaded (${why})`, { hint: 'let whatever writes the model finish, then run the build again; no manifest was pushed' });
    const before = await handle.stat();
    if (before.size !== segment.size || before.mtimeMs !== segment.mtimeMs) throw changed(`size or mtime differs from when the build started`);
    let position = from;
    while (position < segment.size) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, segment.size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw changed(`it ended at ${position} of ${segment.size} bytes`);
      position += bytesRead;
      stats.bytesRead += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    const after = await handle.stat();
    if (after.size !== segment.size || after.mtimeMs !== segment.mtimeMs) throw changed('it was written to during the upload');
  } finally {
    await handle.close();
  }
}
