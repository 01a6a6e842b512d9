import { type Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LayerError } from '../errors.ts';
import {
  BLOCK,
  MAX_METADATA_BYTES,
  checksumMatches,
  cstring,
  entrySize,
  isZeroBlock,
  longText,
  nextHeader,
  parsePax,
  tarNumber,
  typeflag,
  ustarName,
} from './tar-fields.ts';
import type { BlobSource } from './types.ts';

/** One entry of a layer, from its header only. */
export interface LayerEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** Permission bits. */
  readonly mode: number;
  readonly size: number;
  readonly linkname?: string;
}

/**
 * A layer whose headers cannot be read: damaged, not a tar, or in a compression preflight cannot
 * walk. The checks report it as their finding about the image; `modelcar build` stops on it.
 */
// Declared with every other error class in src/errors.ts (one table of codes).
export { LayerError };

// One Range request fetches a window this big: enough for a small-files layer of a typical model,
// small enough that a weights layer costs little more than its headers.
const WINDOW = 256 * 2 ** 10;
// The largest real images list a few hundred thousand files; the entries are kept in memory, so a
// layer of tiny headers (or a gzip bomb of them) stops here.
const MAX_LAYER_ENTRIES = 1_000_000;
const DAMAGED =
  'the image is damaged or was not built as an OCI image: rebuild and push it again (or choose another image)';

/**
 * The headers of a layer, without its file contents. An uncompressed layer is read by offset: a
 * window of bytes around each header (one Range request per window), skipping over file data, so a
 * 20 GB weights layer costs two small requests. A compressed layer has no offsets to skip to: it is
 * streamed through gunzip and only its headers are kept (base layers are small).
 */
export async function layerEntries(blob: BlobSource, signal: AbortSignal): Promise<LayerEntry[]> {
  const what = `layer ${blob.digest ?? '(digest unknown)'}`;
  if (/zstd/.test(blob.mediaType))
    throw new LayerError(`${what}: zstd layers cannot be inspected yet`, {
      hint: 'push the image with gzip or uncompressed layers',
    });
  const gzip = /gzip/.test(blob.mediaType);
  const reader = gzip ? gunzipReader(blob, what, signal) : windowReader(blob);
  try {
    return await walk(reader, gzip ? Number.MAX_SAFE_INTEGER : blob.size, what, signal);
  } finally {
    reader.close();
  }
}

interface Reader {
  /** `length` bytes from `offset`, fewer at the end of the layer. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): void;
}

async function walk(reader: Reader, size: number, what: string, signal: AbortSignal): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  let position = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  const corrupt = (problem: string): LayerError =>
    new LayerError(`${what}: ${problem} at byte ${position}`, { hint: DAMAGED });
  while (position + BLOCK <= size) {
    signal.throwIfAborted();
    const header = await reader.read(position, BLOCK);
    if (header.length < BLOCK || isZeroBlock(header)) break;
    if (!checksumMatches(header)) throw corrupt('not a tar archive (bad header checksum)');
    const type = typeflag(header);
    const length = entrySize(header, type, pax);
    if (length === undefined) throw corrupt('entry size is not a non-negative integer');
    if (type === 'x' || type === 'L' || type === 'K') {
      if (length > MAX_METADATA_BYTES)
        throw corrupt(`long name or PAX header of ${length} bytes (the limit is ${MAX_METADATA_BYTES})`);
      const data = await reader.read(position + BLOCK, length);
      if (data.length < length) throw corrupt('the layer ends inside a long name or PAX header (truncated)');
      if (type === 'x') {
        const parsed = parsePax(data, pax);
        if ('problem' in parsed) throw corrupt(parsed.problem);
        pax = parsed.records;
      } else if (type === 'L') longName = longText(data);
      else longLink = longText(data);
    } else if (type !== 'g') {
      if (entries.length >= MAX_LAYER_ENTRIES) throw corrupt(`more than ${MAX_LAYER_ENTRIES} entries`);
      const name = pax.get('path') ?? longName ?? ustarName(header);
      const linkname = pax.get('linkpath') ?? longLink ?? cstring(header, 157, 100);
      // A mode that is not octal tells nothing about permissions: 0, which the contract then flags.
      const mode = (tarNumber(header, 100, 8) ?? 0) & 0o7777;
      entries.push({
        path: normalise(name),
        type: kind(type),
        mode,
        size: length,
        ...(linkname === '' ? {} : { linkname }),
      });
      longName = undefined;
      longLink = undefined;
      pax = new Map();
    }
    // Sizes are non-negative, so each step moves at least one block forward: the walk ends.
    position = nextHeader(position, length);
  }
  return entries;
}

/** Reads served from windows fetched with `open(offset)`, one request per window. */
function windowReader(blob: BlobSource): Reader {
  let start = -1;
  let window: Buffer = Buffer.alloc(0);
  return {
    async read(offset, length) {
      if (offset >= blob.size) return Buffer.alloc(0);
      if (offset < start || offset + length > start + window.length) {
        start = offset;
        window = await readUpTo(blob.open(offset), Math.max(WINDOW, length));
      }
      return window.subarray(offset - start, offset - start + length);
    },
    close: () => undefined,
  };
}

/** A gunzipped stream read forward only: later offsets skip data, earlier ones are never asked for. */
function gunzipReader(blob: BlobSource, what: string, signal: AbortSignal): Reader {
  // pipeline, not pipe: a source that fails (a dropped download) must fail the gunzip stream too,
  // or the walk would wait for bytes forever. The failure reaches the walk through the iterator.
  const gunzip = pipeline(blob.open(0), createGunzip(), () => undefined);
  const iterator = gunzip[Symbol.asyncIterator]();
  // `buffered` holds the decompressed bytes [bufferStart, bufferStart + buffered.length).
  let buffered: Buffer = Buffer.alloc(0);
  let bufferStart = 0;
  const next = async (): Promise<IteratorResult<unknown>> => {
    try {
      return await iterator.next();
    } catch (error) {
      if (isZlibError(error)) throw new LayerError(`${what}: not valid gzip data (${error.code})`, { hint: DAMAGED });
      throw error;
    }
  };
  return {
    async read(offset, length) {
      for (;;) {
        if (offset > bufferStart) {
          const drop = Math.min(buffered.length, offset - bufferStart);
          buffered = buffered.subarray(drop);
          bufferStart += drop;
        }
        if (bufferStart === offset && buffered.length >= length) break;
        // Skipping a huge entry decompresses all of it: the abort must not wait for the end.
        signal.throwIfAborted();
        const chunk = await next();
        if (chunk.done === true) break;
        const value: unknown = chunk.value;
        buffered = Buffer.concat([buffered, Buffer.isBuffer(value) ? value : Buffer.alloc(0)]);
      }
      return bufferStart === offset ? buffered.subarray(0, length) : Buffer.alloc(0);
    },
    close() {
      gunzip.destroy();
    },
  };
}

function isZlibError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('Z_');
}

/** At least `limit` bytes from the start of `stream` (fewer at its end), then the stream is closed. */
async function readUpTo(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(bytes);
      total += bytes.length;
      if (total >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

function kind(type: string): LayerEntry['type'] {
  if (type === '0' || type === '\0' || type === '7') return 'file';
  if (type === '5') return 'dir';
  if (type === '2') return 'symlink';
  if (type === '1') return 'hardlink';
  return 'other';
}

function normalise(path: string): string {
  return path
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
}
