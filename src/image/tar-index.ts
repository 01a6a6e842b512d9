import type { FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { checksumMatches, isZeroBlock, numeric, parsePax, ustarName } from './tar-fields.ts';

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
      else pax = parsePax(data) ?? fail(corrupt(description, position, 'malformed PAX header'));
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

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

function corrupt(description: string, position: number, what: string): UsageError {
  return new UsageError(`${description}: ${what} at byte ${position}`, { hint: 'export the image again (podman save / skopeo copy … oci-archive:)' });
}

function fail(error: Error): never {
  throw error;
}
