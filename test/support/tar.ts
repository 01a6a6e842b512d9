// Tar bytes built by hand, field by field, so a test can write what no tar tool would: negative or
// non-numeric sizes, PAX records that lie about their length, headers whose checksum is right but
// whose contents are not. src/modelcar/tar-header.ts writes only correct headers; these are the
// attacker's.

export const BLOCK = 512;

export interface RawHeader {
  readonly name: string;
  /** The typeflag byte: '0' file, '5' dir, '2' symlink, 'x' PAX, 'L' GNU long name, … */
  readonly type?: string;
  readonly size?: number;
  /** The 12 bytes of the size field as written, instead of `size` in octal (e.g. GNU base-256, or garbage). */
  readonly sizeField?: Buffer;
  readonly mode?: number;
  readonly linkname?: string;
}

/** One 512-byte ustar header with a correct checksum. */
export function rawHeader(input: RawHeader): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(input.name, 0, 100, 'utf8');
  header.write(octal(input.mode ?? 0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  if (input.sizeField === undefined) header.write(octal(input.size ?? 0, 12), 124, 'ascii');
  else input.sizeField.copy(header, 124, 0, 12);
  header.write(octal(0, 12), 136, 'ascii');
  header.write(input.type ?? '0', 156, 'ascii');
  if (input.linkname !== undefined) header.write(input.linkname, 157, 100, 'utf8');
  header.write('ustar\u000000', 257, 'ascii');
  fixChecksum(header);
  return header;
}

/** Recompute the checksum of a (mutated) header, so a mutation gets past the checksum to the parser behind it. */
export function fixChecksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += header[i] ?? 0;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
}

/** `"<len> key=value\n"`, its length counting itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, 'utf8');
  let digits = 1;
  while (String(bodyLength + digits).length !== digits) digits += 1;
  return `${bodyLength + digits}${body}`;
}

/** A header, its data and the padding to a whole block. */
export function tarEntry(header: RawHeader, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([
    rawHeader({ ...header, size: header.size ?? data.length }),
    data,
    Buffer.alloc(padding(data.length)),
  ]);
}

/** A PAX extended header ('x') carrying `records` (raw text, so a test may write malformed ones). */
export function paxEntry(records: string): Buffer {
  return tarEntry({ name: 'PaxHeaders/entry', type: 'x' }, Buffer.from(records, 'utf8'));
}

/** Regular files, in order, then the end-of-archive blocks. */
export function tarOfFiles(files: Readonly<Record<string, Buffer | string>>): Buffer {
  const entries = Object.entries(files).map(([name, data]) =>
    tarEntry({ name }, Buffer.isBuffer(data) ? data : Buffer.from(data)),
  );
  return Buffer.concat([...entries, endOfArchive()]);
}

export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\u0000`;
}
