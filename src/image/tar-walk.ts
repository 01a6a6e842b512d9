import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { checksumMatches, isZeroBlock, numeric, parsePax, ustarName } from './tar-fields.ts';
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

const BLOCK = 512;
// One Range request fetches a window this big: enough for a small-files layer of a typical model,
// small enough that a weights layer costs little more than its headers.
const WINDOW = 256 * 2 ** 10;

/**
 * The headers of a layer, without its file contents. An uncompressed layer is read by offset: a
 * window of bytes around each header (one Range request per window), skipping over file data, so a
 * 20 GB weights layer costs two small requests. A compressed layer has no offsets to skip to: it is
 * streamed through gunzip and only its headers are kept (base layers are small).
 */
export async function layerEntries(blob: BlobSource, signal?: AbortSignal): Promise<LayerEntry[]> {
  if (/gzip/.test(blob.mediaType)) return walk(gunzipReader(blob), Number.MAX_SAFE_INTEGER, signal);
  if (/zstd/.test(blob.mediaType)) throw new Error(`layer ${blob.digest ?? ''}: zstd layers cannot be inspected yet`);
  return walk(windowReader(blob), blob.size, signal);
}

type ReadAt = (offset: number, length: number) => Promise<Buffer>;

async function walk(readAt: ReadAt, size: number, signal: AbortSignal | undefined): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  let position = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  while (position + BLOCK <= size) {
    signal?.throwIfAborted();
    const header = await readAt(position, BLOCK);
    if (header.length < BLOCK || isZeroBlock(header)) break;
    if (!checksumMatches(header)) throw new Error(`layer is not a tar archive (bad header checksum at byte ${position})`);
    const type = String.fromCharCode(header[156] ?? 0);
    const entrySize = pax.size === undefined ? numeric(header, 124, 12) : Number(pax.size);
    const dataStart = position + BLOCK;
    if (type === 'x' || type === 'L' || type === 'K') {
      const data = await readAt(dataStart, entrySize);
      if (type === 'x') pax = parsePax(data) ?? {};
      else if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      else longLink = data.toString('utf8').replace(/\0+$/, '');
    } else if (type !== 'g') {
      const name = pax.path ?? longName ?? ustarName(header);
      const linkname = pax.linkpath ?? longLink ?? cstring(header, 157, 100);
      entries.push({ path: normalise(name), type: kind(type), mode: numeric(header, 100, 8) & 0o7777, size: entrySize, ...(linkname === '' ? {} : { linkname }) });
      longName = undefined;
      longLink = undefined;
      pax = {};
    }
    position = dataStart + Math.ceil(entrySize / BLOCK) * BLOCK;
  }
  return entries;
}

/** Reads served from windows fetched with `open(offset)`, one request per window. */
function windowReader(blob: BlobSource): ReadAt {
  let start = -1;
  let window: Buffer = Buffer.alloc(0);
  return async (offset, length) => {
    if (offset < start || offset + length > start + window.length) {
      start = offset;
      window = await readBytes(blob.open(offset), Math.max(WINDOW, length));
    }
    return window.subarray(offset - start, offset - start + length);
  };
}

/** A gunzipped stream read forward only: later offsets skip data, earlier ones are never asked for. */
function gunzipReader(blob: BlobSource): ReadAt {
  const iterator = blob.open(0).pipe(createGunzip())[Symbol.asyncIterator]();
  // `buffered` holds the decompressed bytes [bufferStart, bufferStart + buffered.length).
  let buffered: Buffer = Buffer.alloc(0);
  let bufferStart = 0;
  return async (offset: number, length: number) => {
    for (;;) {
      if (offset > bufferStart) {
        const drop = Math.min(buffered.length, offset - bufferStart);
        buffered = buffered.subarray(drop);
        bufferStart += drop;
      }
      if (bufferStart === offset && buffered.length >= length) break;
      const next = await iterator.next();
      if (next.done === true) break;
      const value: unknown = next.value;
      buffered = Buffer.concat([buffered, Buffer.isBuffer(value) ? value : Buffer.alloc(0)]);
    }
    return bufferStart === offset ? buffered.subarray(0, length) : Buffer.alloc(0);
  };
}

async function readBytes(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(bytes);
    total += bytes.length;
    if (total >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(chunks);
}

function kind(type: string): LayerEntry['type'] {
  if (type === '0' || type === '\0' || type === '7') return 'file';
  if (type === '5') return 'dir';
  if (type === '2') return 'symlink';
  if (type === '1') return 'hardlink';
  return 'other';
}

function cstring(header: Buffer, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

function normalise(path: string): string {
  return path.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}
