// Fields of tar headers (ustar, GNU, PAX), shared by the archive index and the layer header walk.
// Archives come from other people: every number read here is checked to be a non-negative safe
// integer, because a size moves the reader's position and a negative or NaN one moves it backwards
// or nowhere (a scan that never ends).

export const BLOCK = 512;

/**
 * Long names ('L', 'K') and PAX headers ('x', 'g') are read whole into memory. Real ones hold a
 * path, a link target and a few xattrs (a few KiB at most); anything bigger is a broken or hostile
 * archive, refused before a byte of it is read.
 */
export const MAX_METADATA_BYTES = 2 ** 20;

/** Metadata entries describe the entry after them; their own size is their data's length. */
export const METADATA_TYPES = new Set(['x', 'g', 'L', 'K']);

export function isZeroBlock(block: Buffer): boolean {
  return block.every((byte) => byte === 0);
}

export function checksumMatches(header: Buffer): boolean {
  const stored = tarNumber(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum === stored;
}

/**
 * An octal field, or GNU base-256 (high bit of the first byte set) for sizes of 8 GiB and more;
 * undefined when it is neither, negative (base-256 sets the next bit for that) or beyond 2^53.
 */
export function tarNumber(header: Buffer, offset: number, length: number): number | undefined {
  const field = header.subarray(offset, offset + length);
  const first = field[0] ?? 0;
  if ((first & 0x80) !== 0) {
    if ((first & 0x40) !== 0) return undefined;
    let value = first & 0x3f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  // Writers pad with NULs or spaces on either side (old tars: leading spaces, trailing NUL and space).
  const text = field.toString('latin1').replace(/^[ ]+|[\0 ]+$/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A PAX decimal (`size=1234`): digits only, and a safe integer. */
export function paxNumber(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * The size of the entry a header starts: its own field for metadata entries, else a preceding PAX
 * `size` when there is one (sizes of 8 GiB and more). Undefined when corrupt.
 */
export function entrySize(header: Buffer, type: string, pax: ReadonlyMap<string, string>): number | undefined {
  const override = METADATA_TYPES.has(type) ? undefined : pax.get('size');
  return override === undefined ? tarNumber(header, 124, 12) : paxNumber(override);
}

/** {@link tarNumber} of a header preflight wrote itself (a modelcar layer's), which is always valid. */
export function numeric(header: Buffer, offset: number, length: number): number {
  const value = tarNumber(header, offset, length);
  if (value === undefined) throw new Error(`invalid numeric field at byte ${offset} of a header preflight wrote`);
  return value;
}

/** Where the header after an entry of `size` bytes at `position` starts: always further on. */
export function nextHeader(position: number, size: number): number {
  return position + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
}

export function typeflag(header: Buffer): string {
  return String.fromCharCode(header[156] ?? 0);
}

export function cstring(header: Buffer, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

export function ustarName(header: Buffer): string {
  const name = cstring(header, 0, 100);
  const isUstar = header.subarray(257, 262).toString('ascii') === 'ustar';
  const prefix = isUstar ? cstring(header, 345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** A GNU long name or link target: the data up to its NUL terminator. */
export function longText(data: Buffer): string {
  return data.toString('utf8').replace(/\0+$/, '');
}

/**
 * PAX records: `<length> <key>=<value>\n`, the decimal length counting the whole record, added to
 * `records` (earlier headers'). A record that is malformed (a length that is not decimal, runs past
 * the data or does not end at a newline) or a `size` that is not a non-negative integer is a
 * problem. An empty value removes the key, as POSIX says.
 */
export function parsePax(
  data: Buffer,
  records: ReadonlyMap<string, string>,
): { readonly records: Map<string, string> } | { readonly problem: string } {
  const out = new Map(records);
  let at = 0;
  while (at < data.length && data[at] !== 0) {
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? undefined : paxNumber(data.subarray(at, space).toString('latin1'));
    if (length === undefined || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a)
      return { problem: 'malformed PAX header' };
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals <= 0) return { problem: 'malformed PAX header' };
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (value === '') out.delete(key);
    else out.set(key, value);
    at += length;
  }
  const size = out.get('size');
  if (size !== undefined && paxNumber(size) === undefined) return { problem: 'PAX size is not a non-negative integer' };
  return { records: out };
}
