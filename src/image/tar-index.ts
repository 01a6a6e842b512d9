import { UsageError } from '../errors.ts';
import {
  BLOCK,
  MAX_METADATA_BYTES,
  checksumMatches,
  entrySize,
  isZeroBlock,
  longText,
  nextHeader,
  parsePax,
  typeflag,
  ustarName,
} from './tar-fields.ts';

/** A regular file inside a tar archive: where its bytes start and how many there are. */
export interface TarEntry {
  readonly name: string;
  /** Offset of the first data byte in the archive file. */
  readonly offset: number;
  readonly size: number;
}

/** What the scan needs of an open archive (a `FileHandle` is one). */
export interface TarFile {
  stat(): Promise<{ readonly size: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ readonly bytesRead: number }>;
}

// An OCI or docker archive holds a few files per image and per layer; a million entries is no image,
// and their names would all be held in memory.
const MAX_ENTRIES = 1_000_000;
// Nothing preflight looks up (index.json, blobs/sha256/<hex>, a docker layer path) is longer; a
// longer name is kept out of memory rather than refused, since the entry may be one nobody asks for.
const MAX_NAME_BYTES = 4096;

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
 * A corrupt header (bad checksum, a size that is not a non-negative integer, metadata above
 * {@link MAX_METADATA_BYTES}) is a one-line UsageError naming the archive and the byte offset.
 */
export async function indexTar(
  file: TarFile,
  description: string,
  signal: AbortSignal,
): Promise<Map<string, TarEntry>> {
  const { size: fileSize } = await file.stat();
  const header = Buffer.alloc(BLOCK);
  const first = await readAt(file, header, 0);
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
  let pax = new Map<string, string>();
  for (;;) {
    signal.throwIfAborted();
    const read = await readAt(file, header, position);
    if (read === 0 || isZeroBlock(header)) break;
    if (read < BLOCK) throw corrupt(description, position, 'the archive ends inside a header (truncated)');
    if (!checksumMatches(header))
      throw corrupt(description, position, 'header checksum mismatch (not a tar archive, or damaged)');
    const type = typeflag(header);
    const size = entrySize(header, type, pax);
    if (size === undefined) throw corrupt(description, position, 'entry size is not a non-negative integer');
    const dataStart = position + BLOCK;
    if (dataStart + size > fileSize)
      throw corrupt(description, position, `entry of ${size} bytes runs past the end of the file (truncated archive)`);
    if (type === 'L' || type === 'x') {
      if (size > MAX_METADATA_BYTES)
        throw corrupt(
          description,
          position,
          `long name or PAX header of ${size} bytes (the limit is ${MAX_METADATA_BYTES})`,
        );
      const data = Buffer.alloc(size);
      await readAt(file, data, dataStart);
      if (type === 'L') longName = longText(data);
      else {
        const parsed = parsePax(data, pax);
        if ('problem' in parsed) throw corrupt(description, position, parsed.problem);
        pax = parsed.records;
      }
    } else if (type !== 'g' && type !== 'K') {
      if (type === '0' || type === '\0' || type === '7') {
        const name = normalise(pax.get('path') ?? longName ?? ustarName(header));
        if (name !== '' && Buffer.byteLength(name) <= MAX_NAME_BYTES) {
          if (entries.size >= MAX_ENTRIES && !entries.has(name))
            throw corrupt(description, position, `more than ${MAX_ENTRIES} entries`);
          entries.set(name, { name, offset: dataStart, size });
        }
      }
      longName = undefined;
      pax = new Map();
    }
    // Sizes are non-negative, so each step moves at least one block forward: the scan ends.
    position = nextHeader(position, size);
  }
  return entries;
}

async function readAt(file: TarFile, buffer: Buffer, position: number): Promise<number> {
  let total = 0;
  while (total < buffer.length) {
    const { bytesRead } = await file.read(buffer, total, buffer.length - total, position + total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total;
}

function normalise(name: string): string {
  return name
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
}

function corrupt(description: string, position: number, what: string): UsageError {
  return new UsageError(`${description}: ${what} at byte ${position}`, {
    hint: 'export the image again (podman save / skopeo copy … oci-archive:)',
  });
}
