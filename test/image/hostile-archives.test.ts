import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { openSource } from '../../src/image/open-source.ts';
import { indexTar } from '../../src/image/tar-index.ts';
import { runCli } from '../support/cli.ts';
import { BLOCK, endOfArchive, paxEntry, paxRecord, rawHeader, tarEntry } from '../support/tar.ts';
import { testdir } from '../support/testdir.ts';

// Issue 13, case 4: tar sizes are non-negative safe integers and every step moves forward. A hang
// is bounded here (the test would fail, not stall the suite); no timing is asserted.
const HANG_BOUND_MS = 30_000;

async function archiveFile(bytes: Buffer): Promise<string> {
  const path = join(await testdir(), 'hostile.tar');
  await writeFile(path, bytes);
  return path;
}

function withPaxSize(size: string): Buffer {
  return Buffer.concat([paxEntry(paxRecord('size', size)), tarEntry({ name: 'index.json' }), endOfArchive()]);
}

function withSizeField(field: Buffer): Buffer {
  return Buffer.concat([rawHeader({ name: 'index.json', sizeField: field }), Buffer.alloc(BLOCK), endOfArchive()]);
}

/** GNU base-256: the high bit marks it, the next bit is the sign (two's complement). */
function base256(bytes: readonly number[]): Buffer {
  const field = Buffer.alloc(12);
  Buffer.from(bytes).copy(field, 12 - bytes.length);
  field[0] = (field[0] ?? 0) | 0x80;
  return field;
}

describe('preflight push of an oci-archive with a hostile PAX size (the built CLI)', () => {
  it.each([
    ['-1536', 'moves the position backwards'],
    ['abc', 'is not a number'],
  ])('size=%s (%s): one line, exit 2, no hang, no crash', async (size) => {
    const archive = await archiveFile(withPaxSize(size));
    const result = await runCli(['push', `oci-archive:${archive}`, '127.0.0.1:9/x:y'], { killAfterMs: HANG_BOUND_MS });
    expect(result.signal).toBeNull();
    expect(result.stderr).not.toMatch(/This is a bug|internal error/);
    const [error, ...rest] = result.stderr.trimEnd().split('\n');
    expect(error).toMatch(new RegExp(`^error: oci-archive:${archive}: .*size.* at byte 0$`));
    expect(rest.every((line) => line.startsWith('hint: '))).toBe(true);
    expect(result.code).toBe(2);
  });
});

describe('indexTar: sizes are non-negative safe integers, positions strictly increase', () => {
  it.each([
    ['PAX size=-1536', withPaxSize('-1536'), 0],
    ['PAX size=abc', withPaxSize('abc'), 0],
    ['PAX size=1e3', withPaxSize('1e3'), 0],
    ['PAX size=0x200', withPaxSize('0x200'), 0],
    ['PAX size= 512', withPaxSize(' 512'), 0],
    ['PAX size above 2^53', withPaxSize('9007199254740993'), 0],
    ['octal size -0003000', withSizeField(Buffer.from('-0003000\0')), 0],
    ['octal size with a non-octal digit', withSizeField(Buffer.from('00000001238\0')), 0],
    ['octal size of garbage', withSizeField(Buffer.from('zzzzzzzzzzz\0')), 0],
    [
      'negative base-256 size',
      withSizeField(base256([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x00])),
      0,
    ],
    [
      'base-256 size above 2^53',
      withSizeField(base256([0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01])),
      0,
    ],
  ])(
    '%s is refused as corrupt, naming the archive and the byte offset',
    async (_name, bytes, offset) => {
      const archive = await archiveFile(bytes);
      const opened = openSource(`oci-archive:${archive}`, { signal: new AbortController().signal });
      await expect(opened).rejects.toThrow(UsageError);
      await expect(opened).rejects.toThrow(new RegExp(`^oci-archive:${archive}: .*size.* at byte ${offset}$`));
    },
    HANG_BOUND_MS,
  );

  it.each([
    ['a record length of 0', '0 size=1\n'],
    ['a record length past the data', '99 path=x\n'],
    ['a record length that is not decimal', '0x10 path=abcd\n'],
    ['a record without its newline', '12 path=abc!'],
  ])(
    'a PAX header with %s is refused',
    async (_name, records) => {
      const archive = await archiveFile(
        Buffer.concat([paxEntry(records), tarEntry({ name: 'index.json' }), endOfArchive()]),
      );
      await expect(openSource(`oci-archive:${archive}`, { signal: new AbortController().signal })).rejects.toThrow(
        /malformed PAX header at byte 0$/,
      );
    },
    HANG_BOUND_MS,
  );

  it(
    'refuses a long-name entry that claims 1.5 GB (sparse) before reading it',
    async () => {
      const claimed = 1536 * 2 ** 20;
      const path = join(await testdir(), 'long-name.tar');
      await writeFile(path, rawHeader({ name: '././@LongLink', type: 'L', size: claimed }));
      await truncate(path, BLOCK + claimed + 2 * BLOCK);
      const before = process.memoryUsage().rss;
      await expect(openSource(`oci-archive:${path}`, { signal: new AbortController().signal })).rejects.toThrow(
        /long name or PAX header of 1610612736 bytes .* at byte 0$/,
      );
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
    },
    HANG_BOUND_MS,
  );

  it('stops at the abort signal between headers', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => tarEntry({ name: `file-${i}` }, Buffer.from('x')));
    const path = await archiveFile(Buffer.concat([...entries, endOfArchive()]));
    const handle = await open(path, 'r');
    const controller = new AbortController();
    let reads = 0;
    // The third header read aborts: the scan must end there, not at the end of the archive.
    const file = {
      stat: () => handle.stat(),
      read: async (buffer: Buffer, offset: number, length: number, position: number) => {
        reads += 1;
        if (reads === 3) controller.abort(new Error('stop here'));
        return handle.read(buffer, offset, length, position);
      },
    };
    try {
      await expect(indexTar(file, 'test.tar', controller.signal)).rejects.toThrow('stop here');
      expect(reads).toBe(3);
    } finally {
      await handle.close();
    }
  });
});
