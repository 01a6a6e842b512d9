// Fields of tar headers (ustar, GNU, PAX), shared by the archive index and the layer header walk.

const BLOCK = 512;

export function isZeroBlock(block: Buffer): boolean {
  return block.every((byte) => byte === 0);
}

export function checksumMatches(header: Buffer): boolean {
  const stored = numeric(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum === stored;
}

/** An octal field, or GNU base-256 (high bit of the first byte set) for sizes of 8 GiB and more. */
export function numeric(header: Buffer, offset: number, length: number): number {
  const field = header.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = field.toString('ascii').replace(/[\0 ]+$/g, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

export function ustarName(header: Buffer): string {
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
export function parsePax(data: Buffer): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length && data[at] !== 0) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (space === -1 || !Number.isInteger(length) || length <= 0) return undefined;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) out[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return out;
}

