import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarHeader } from '../../src/modelcar/tar-header.ts';

/** Parse one header with tar-stream (an independent reader) and return the name and size it sees. */
function parse(
  header: Buffer,
): Promise<{ name: string; size: number | undefined; linkname: string | null | undefined }> {
  return new Promise((resolve, reject) => {
    const parser = extract();
    parser.on('entry', (h, stream) => {
      resolve({ name: h.name, size: h.size, linkname: h.linkname });
      stream.resume();
    });
    parser.on('error', reject);
    parser.write(header);
  });
}

describe('tarHeader', () => {
  // PAX record lengths count their own digits: names whose record length crosses 99→100 and 999→1000.
  it.each([90, 100, 101, 140, 200, 980, 990, 1000])('a %i-byte path survives a PAX round trip', async (length) => {
    const name = `models/${'n'.repeat(length - 7)}`;
    expect(Buffer.byteLength(name)).toBe(length);
    expect(await parse(tarHeader({ name, type: 'file', size: 0, mtime: 0 }))).toMatchObject({ name, size: 0 });
  });

  it('keeps non-ASCII names exact through PAX', async () => {
    const name = 'models/模型/poids-ünïcødé.bin';
    expect((await parse(tarHeader({ name, type: 'file', size: 3, mtime: 0 }))).name).toBe(name);
  });

  it('carries a long symlink target in PAX linkpath', async () => {
    const linkname = `../${'t'.repeat(150)}`;
    expect((await parse(tarHeader({ name: 'models/l', type: 'symlink', size: 0, linkname, mtime: 0 }))).linkname).toBe(
      linkname,
    );
  });

  it('writes plain ustar (one block) when it can', () => {
    const header = tarHeader({ name: 'models/config.json', type: 'file', size: 10, mtime: 5 });
    expect(header.length).toBe(512);
    expect(header.subarray(257, 263).toString('latin1')).toBe('ustar\0');
    expect(header.subarray(265, 265 + 32).every((b) => b === 0)).toBe(true); // empty uname
  });
});
