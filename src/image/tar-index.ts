import type { FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.ts';

/** A regular file inside a tar archive: where its bytes start and how many there are. */
export interface TarEntry {
  readonly name: string;
  /** Offset of the first data byte in the archive file. */
  readonly offset: number;
  readonly size: number;
}

const BLOCK = 512;

// Magic numbers of the compressions `tar -a` and image tools produce.
const COMPRESSED: readonly (readonly [string, Buffer])[] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['bzip2', Buffer.from('BZh')],
];

/**
 * Index the regular files of a tar archive by reading only its headers, seeking from one header to
 * the next: a 50 GB archive costs a few reads per entry, and nothing is extracted. Understands
 * ustar (with prefix), GNU long names ('L') and PAX headers ('x' path and size; 'g' ignored).
 */
export async function indexTar(handle: FileHandle, description: string, signal?: AbortSignal): Promise<Map<string, TarEntry>> {
  const { size: fileSize } = await handle.stat();
  const header = Buffer.alloc(BLOCK);
  const first = await readAt(handle, header, 0);
  for (const [name, magic] of COMPRESSED) {
    if (first >= magic.length && header.subarray(0, magic.length).equals(magic)) {
      throw new UsageError(`${description} is ${name}-compressed`, {
        hint: `decompress it first (e.g. ${name === 'gzip' ? 'gunzip' : `${name} -d`} -k FILE): blobs are streamed from their offsets inside the tar, which needs an uncompressed archive`,
      });
    }
  }
  const entries = new Map<string, TarEntry>();
  let position = 0;
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    signal?.throwIfAborted();
    const read = await readAt(handle, header, position);
    if (read === 0 || isZeroBlock(header)) break;
    if (read < BLOCK) throw corrupt(description, position, 'the archive ends inside a header (truncated)');
    if (!checksumMatches(header)) throw corrupt(description, position, 'header checksum mismatch (not a tar archive, or damaged)');
    const type = String.fromCharCode(header[156] ?? 0);
    const size = pax.size === undefined ? numeric(header, 124, 12) : Number(pax.size);
    const dataStart = position + BLOCK;
    if (dataStart + size > fileSize) throw corrupt(description, position, `entry of ${size} bytes runs past the end of the file (truncated archive)`);
    if (type === 'L' || type === 'x') {
      const data = Buffer.alloc(size);
      await readAt(handle, data, dataStart);
      if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      else pax = parsePax(data, description);
    } else if (type !== 'g') {
      if (type === '0' || type === '\0' || type === '7') {
        const name = normalise(pax.path ?? longName ?? ustarName(header));
        if (name !== '') entries.set(name, { name, offset: dataStart, size });
      }
      longName = undefined;
      pax = {};
    }
    position = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

async function readAt(handle: FileHandle, buffer: Buffer, position: number): Promise<number> {
  let total = 0;
  while (total < buffer.length) {
    const { bytesRead } = await handle.read(buffer, total, buffer.length - total, position + total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total;
}

function isZeroBlock(block: Buffer): boolean {
  return block.every((byte) => byte === 0);
}

function checksumMatches(header: Buffer): boolean {
  const stored = numeric(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum === stored;
}

/** An octal field, or GNU base-256 (high bit of the first byte set) for sizes of 8 GiB and more. */
function numeric(header: Buffer, offset: number, length: number): number {
  const field = header.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = field.toString('ascii').replace(/[\0 ]+$/g, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function ustarName(header: Buffer): string {
  const cstring = (offset: number, length: number): string => {
    const field = header.subarray(offset, offset + length);
    const end = field.indexOf(0);
    return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
  };
  const name = cstring(0, 100);
  const isUstar = header.subarray(257, 262).toString('ascii') === 'ustar';
  const prefix = isUstar ? cstring(345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(data: Buffer, description: string): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length && data[at] !== 0) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (space === -1 || !Number.isInteger(length) || length <= 0) throw corrupt(description, at, 'malformed PAX header');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) out[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return out;
}

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

function corrupt(description: string, position: number, what: string): UsageError {
  return new UsageError(`${description}: ${what} at byte ${position}`, { hint: 'export the image again (podman save / skopeo copy … oci-archive:)' });
}
