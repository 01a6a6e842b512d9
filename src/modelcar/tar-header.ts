/**
 * Deterministic tar headers for modelcar layers. Everything that could vary between machines or
 * builds is fixed: uid/gid 0, empty user and group names, mode 0644 for files, 0755 for dirs (so
 * KServe's modelcar uid and OpenShift's random uid can read them), 0777 for symlinks, and one mtime
 * for every entry (SOURCE_DATE_EPOCH or 0). The same directory therefore always gives the same bytes.
 *
 * Format: POSIX ustar, with a PAX extended header ('x') in front of an entry when ustar cannot hold
 * it: a path or link target over 100 bytes or with non-ASCII bytes (PAX paths are UTF-8 by
 * definition, ustar's are not), or a size of 8 GiB or more (ustar's size field holds 11 octal digits).
 * GNU tar, busybox tar and Go's archive/tar (umoci, containerd) all read this.
 */

export const BLOCK = 512;
// 11 octal digits: 8^11 - 1 bytes.
const USTAR_MAX_SIZE = 8 ** 11 - 1;

export type EntryType = 'file' | 'dir' | 'symlink';

export interface HeaderInput {
  /** Path inside the archive without a leading slash; directories end with `/`. */
  readonly name: string;
  readonly type: EntryType;
  /** Bytes of file content (0 for dirs and links). */
  readonly size: number;
  readonly linkname?: string;
  /** Seconds since the epoch. */
  readonly mtime: number;
}

const MODES: Record<EntryType, number> = { file: 0o644, dir: 0o755, symlink: 0o777 };
const TYPEFLAGS: Record<EntryType, string> = { file: '0', dir: '5', symlink: '2' };

/** The header block(s) for one entry: a PAX header and its records when needed, then the ustar header. */
export function tarHeader(input: HeaderInput): Buffer {
  const records: string[] = [];
  if (!fitsUstar(input.name)) records.push(paxRecord('path', input.name));
  if (input.linkname !== undefined && !fitsUstar(input.linkname)) records.push(paxRecord('linkpath', input.linkname));
  if (input.size > USTAR_MAX_SIZE) records.push(paxRecord('size', String(input.size)));
  const header = ustarHeader({
    name: fitsUstar(input.name) ? input.name : asciiPrefix(input.name),
    typeflag: TYPEFLAGS[input.type],
    mode: MODES[input.type],
    size: input.size > USTAR_MAX_SIZE ? 0 : input.size,
    mtime: input.mtime,
    linkname:
      input.linkname === undefined ? '' : fitsUstar(input.linkname) ? input.linkname : asciiPrefix(input.linkname),
  });
  if (records.length === 0) return header;
  const data = Buffer.from(records.join(''), 'utf8');
  // The PAX header's own name is derived from the entry, so it too is deterministic.
  const paxHeader = ustarHeader({
    name: asciiPrefix(`PaxHeaders/${input.name}`),
    typeflag: 'x',
    mode: 0o644,
    size: data.length,
    mtime: input.mtime,
    linkname: '',
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(padding(data.length)), header]);
}

/** Zero bytes that round `size` up to a whole block. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = 2 * BLOCK;

function fitsUstar(text: string): boolean {
  // Plain ASCII (printable) up to 100 bytes: the name field alone, no prefix split, so every reader
  // sees the same path.
  return Buffer.byteLength(text, 'utf8') <= 100 && /^[\x20-\x7e]*$/.test(text);
}

/** A readable stand-in for the ustar field when PAX carries the real value: ASCII, at most 100 bytes. */
function asciiPrefix(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
}

/** `"<len> key=value\n"` where len counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, 'utf8');
  let digits = 1;
  while (String(bodyLength + digits).length !== digits) digits += 1;
  return `${bodyLength + digits}${body}`;
}

interface UstarFields {
  readonly name: string;
  readonly typeflag: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly linkname: string;
}

function ustarHeader(fields: UstarFields): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(fields.name, 0, 100, 'utf8');
  octal(header, 100, 8, fields.mode);
  octal(header, 108, 8, 0); // uid
  octal(header, 116, 8, 0); // gid
  octal(header, 124, 12, fields.size);
  octal(header, 136, 12, fields.mtime);
  header.write(fields.typeflag, 156, 1, 'ascii');
  header.write(fields.linkname, 157, 100, 'utf8');
  header.write('ustar\u0000', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  // uname, gname stay empty; devmajor/devminor zero-filled like GNU tar does for regular entries.
  octal(header, 329, 8, 0);
  octal(header, 337, 8, 0);
  // The checksum is computed with its own field as eight spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return header;
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}
