import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PreflightError } from '../../src/errors.ts';
import { type BlobStore, readLayout } from '../../src/image/layout.ts';
import { openSource } from '../../src/image/open-source.ts';
import { indexTar } from '../../src/image/tar-index.ts';
import { layerEntries } from '../../src/image/tar-walk.ts';
import type { BlobSource } from '../../src/image/types.ts';
import { imageIndex, imageManifest, memoryBlob, randomBlob } from '../support/blobs.ts';
import { layoutFiles } from '../support/layout.ts';
import { BLOCK, endOfArchive, fixChecksum, paxEntry, paxRecord, tarEntry } from '../support/tar.ts';
import { testdir } from '../support/testdir.ts';

// Mutated tar headers and index documents fed to the readers: every call must answer within a bound
// with a result or a one-line PreflightError, never a TypeError, a RangeError or a hang, and memory
// stays bounded. Seeded: rerun a failure with PREFLIGHT_FUZZ_SEED=<seed from the message>.
const SEED = Number(process.env.PREFLIGHT_FUZZ_SEED ?? randomInt(2 ** 31));
// Only a hang bound: a healthy call takes well under a millisecond.
const CALL_BOUND_MS = 10_000;
const MEMORY_BOUND = 256 * 2 ** 20;

/** mulberry32: small, fast and good enough to pick mutations. */
function prng(seed: number): {
  int(below: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(length: number): Buffer;
} {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (below: number): number => Math.floor(next() * below);
  return {
    int,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(256))),
  };
}

const random = prng(SEED);

/** An OCI archive in memory (ustar, PAX and GNU long-name entries) and where each of its headers starts. */
function baseArchive(): { bytes: Buffer; headers: number[]; pax: number[] } {
  const layer = memoryBlob(Buffer.concat([tarEntry({ name: 'models/a.txt' }, Buffer.from('a')), endOfArchive()]));
  const root = imageIndex([
    imageManifest([layer, randomBlob(700)], 'linux/amd64'),
    imageManifest([layer], 'linux/arm64'),
  ]);
  const parts: Buffer[] = [];
  const headers: number[] = [];
  const pax: number[] = [];
  let at = 0;
  const push = (bytes: Buffer, kind: 'header' | 'pax'): void => {
    headers.push(at);
    if (kind === 'pax') pax.push(at);
    parts.push(bytes);
    at += bytes.length;
  };
  for (const [i, [name, data]] of [...layoutFiles([{ root, ref: 'v1' }])].entries()) {
    if (i % 3 === 1) push(paxEntry(paxRecord('path', `./${name}`)), 'pax');
    if (i % 3 === 2) push(tarEntry({ name: '././@LongLink', type: 'L' }, Buffer.from(`${name}\0`)), 'header');
    push(tarEntry({ name }, data), 'header');
  }
  parts.push(endOfArchive());
  return { bytes: Buffer.concat(parts), headers, pax };
}

const SIZES = [
  '0',
  '1',
  '512',
  '-1',
  '-1536',
  'abc',
  '1e3',
  '0x10',
  ' 7',
  '',
  '9007199254740993',
  '99999999999999999999',
  '3.5',
];
const KEYS = ['size', 'path', 'linkpath', 'x', '', '=', 'size=size'];

/** One mutation of the archive: a size, type or any header byte (checksum fixed so the parser sees it), a PAX record, or a cut. */
function mutate(base: { bytes: Buffer; headers: number[]; pax: number[] }): Buffer {
  const bytes = Buffer.from(base.bytes);
  const header = random.pick(base.headers);
  const block = (): Buffer => bytes.subarray(header, header + BLOCK);
  switch (random.int(7)) {
    case 0:
      for (let i = random.int(4); i >= 0; i--)
        bytes[header + 124 + random.int(12)] = random.pick([0x30 + random.int(10), 0x2d, 0x20, 0, random.int(256)]);
      break;
    case 1: {
      // GNU base-256, positive, negative or huge.
      const field = random.bytes(12);
      field[0] = random.pick([0x80, 0xff, 0x80 | random.int(128)]);
      field.copy(bytes, header + 124);
      break;
    }
    case 2:
      bytes[header + 156] = random.pick([0x30, 0x35, 0x78, 0x4c, 0x4b, 0x67, 0x32, 0x31, 0, random.int(256)]);
      break;
    case 3:
      for (let i = random.int(8); i >= 0; i--) bytes[header + random.int(BLOCK)] = random.int(256);
      break;
    case 4: {
      // PAX records with random lengths and values, written over the data of a PAX header.
      const target = random.pick(base.pax);
      const records = Array.from({ length: 1 + random.int(3) }, () => {
        const text = ` ${random.pick(KEYS)}=${random.pick(SIZES)}\n`;
        return random.int(3) === 0
          ? `${random.int(2000) - 10}${text}`
          : paxRecord(random.pick(KEYS), random.pick(SIZES));
      }).join('');
      const data = Buffer.from(records).subarray(0, BLOCK);
      bytes.fill(0, target + BLOCK, target + 2 * BLOCK);
      data.copy(bytes, target + BLOCK);
      if (random.int(2) === 0) bytes.write(`${data.length.toString(8).padStart(11, '0')}\0`, target + 124, 'ascii');
      fixChecksum(bytes.subarray(target, target + BLOCK));
      return bytes;
    }
    case 5:
      return bytes.subarray(0, random.int(bytes.length));
    default:
      bytes.write(`${random.pick(SIZES).padStart(11, '0').slice(0, 11)}\0`, header + 124, 'ascii');
  }
  if (random.int(10) !== 0) fixChecksum(block());
  return bytes;
}

function memoryFile(bytes: Buffer): Parameters<typeof indexTar>[0] {
  return {
    stat: () => Promise.resolve({ size: bytes.length }),
    // As pread(2): past the end reads nothing.
    read: (buffer, offset, length, position) =>
      Promise.resolve({
        bytesRead:
          position >= bytes.length
            ? 0
            : bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length)),
      }),
  };
}

function memoryLayer(bytes: Buffer, mediaType: string): BlobSource {
  return {
    digest: undefined,
    size: bytes.length,
    mediaType,
    open: (offset) => Readable.from([bytes.subarray(offset)]),
  };
}

/** What the calls gave: both kinds must occur, or the mutations never reached the parser (or never left it whole). */
interface Tally {
  answered: number;
  refused: number;
}

/** Run `call`; record anything but a result or a one-line PreflightError within the bound. */
async function expectAnswer(
  failures: string[],
  tally: Tally,
  label: string,
  call: () => Promise<unknown>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), CALL_BOUND_MS)));
  try {
    const outcome = await Promise.race([
      call().then(
        () => 'ok' as const,
        (error: unknown) => ({ error }),
      ),
      hang,
    ]);
    if (outcome === 'ok') tally.answered += 1;
    else if (outcome !== 'hang' && outcome.error instanceof PreflightError) tally.refused += 1;
    if (outcome === 'hang') failures.push(`${label}: no answer within ${CALL_BOUND_MS} ms`);
    else if (outcome !== 'ok' && !(outcome.error instanceof PreflightError))
      failures.push(
        `${label}: ${outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error)}`,
      );
    else if (outcome !== 'ok' && outcome.error instanceof PreflightError && outcome.error.message.includes('\n'))
      failures.push(`${label}: a message of several lines`);
  } finally {
    clearTimeout(timer);
  }
}

function report(failures: readonly string[]): string {
  return `seed ${SEED} (rerun with PREFLIGHT_FUZZ_SEED=${SEED}): ${failures.length} failures, first: ${failures.slice(0, 3).join('\n---\n')}`;
}

describe(`fuzz (seed ${SEED})`, () => {
  it('mutated tar headers: indexTar, openSource and layerEntries answer or refuse in one line', async () => {
    const base = baseArchive();
    const signal = new AbortController().signal;
    const failures: string[] = [];
    const tally: Tally = { answered: 0, refused: 0 };
    const dir = await testdir();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 2000; i++) {
      const bytes = mutate(base);
      await expectAnswer(failures, tally, `indexTar #${i}`, () => indexTar(memoryFile(bytes), 'fuzz.tar', signal));
      await expectAnswer(failures, tally, `layerEntries #${i}`, () =>
        layerEntries(memoryLayer(bytes, 'application/vnd.oci.image.layer.v1.tar'), signal),
      );
      if (i % 4 === 0) {
        // Gzipped, and now and then damaged after compression.
        const gzip = gzipSync(bytes);
        if (i % 8 === 0) gzip[random.int(gzip.length)] = random.int(256);
        await expectAnswer(failures, tally, `layerEntries gzip #${i}`, () =>
          layerEntries(memoryLayer(gzip, 'application/vnd.oci.image.layer.v1.tar+gzip'), signal),
        );
      }
      if (i % 10 === 0) {
        const path = join(dir, `${i}.tar`);
        await writeFile(path, bytes);
        await expectAnswer(failures, tally, `openSource #${i}`, async () =>
          (await openSource(`oci-archive:${path}`, { signal })).close(),
        );
      }
    }
    expect(failures, report(failures)).toEqual([]);
    expect(tally.answered, `seed ${SEED}`).toBeGreaterThan(100);
    expect(tally.refused, `seed ${SEED}`).toBeGreaterThan(100);
    expect(process.memoryUsage().rss - before).toBeLessThan(MEMORY_BOUND);
  }, 120_000);

  it('mutated index.json documents: readLayout answers or refuses in one line', async () => {
    const layer = memoryBlob(Buffer.from('layer'));
    const inner = imageIndex([imageManifest([layer], 'linux/amd64'), imageManifest([layer], 'linux/arm64')]);
    const root = imageIndex([inner, imageManifest([layer], 'linux/s390x'), inner]);
    const files = layoutFiles([{ root, ref: 'v1' }]);
    const index = files.get('index.json') ?? Buffer.alloc(0);
    const digests = [...files.keys()]
      .filter((p) => p.startsWith('blobs/'))
      .map((p) => `sha256:${p.slice('blobs/sha256/'.length)}`);
    const values: readonly unknown[] = [
      null,
      -1,
      0,
      1.5,
      2 ** 60,
      1e308,
      '',
      'x',
      'sha256:',
      [],
      {},
      [[[[]]]],
      true,
      ...digests,
      'application/vnd.oci.image.index.v1+json',
    ];
    const keys = [
      'manifests',
      'mediaType',
      'digest',
      'size',
      'platform',
      'annotations',
      'os',
      'architecture',
      'org.opencontainers.image.ref.name',
      '__proto__',
      'constructor',
    ];
    const signal = new AbortController().signal;
    const failures: string[] = [];
    const tally: Tally = { answered: 0, refused: 0 };
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1500; i++) {
      let text: Buffer;
      if (random.int(4) === 0) {
        // Bytes: flips, cuts and insertions in the JSON text.
        text = Buffer.from(index);
        for (let n = random.int(4); n >= 0; n--)
          text[random.int(text.length)] = random.pick([
            0x22,
            0x7b,
            0x7d,
            0x5b,
            0x5d,
            0x2c,
            0x3a,
            0x30,
            0x2d,
            random.int(256),
          ]);
        if (random.int(3) === 0) text = text.subarray(0, random.int(text.length));
      } else {
        // Structure: a value anywhere replaced, entries repeated, nested deep.
        const document: unknown = JSON.parse(index.toString('utf8'));
        mutateJson(document, values, keys);
        if (random.int(20) === 0) text = Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
        else text = Buffer.from(JSON.stringify(document));
      }
      const store: BlobStore = {
        description: 'oci:fuzz',
        readFile: (path) => Promise.resolve(path === 'index.json' ? text : undefined),
        blob(digest) {
          const bytes = files.get(`blobs/${digest.replace(':', '/')}`);
          return Promise.resolve(
            bytes === undefined
              ? undefined
              : { size: bytes.length, open: (offset: number) => Readable.from([bytes.subarray(offset)]) },
          );
        },
      };
      await expectAnswer(failures, tally, `readLayout #${i} of ${text.subarray(0, 300).toString('utf8')}`, () =>
        readLayout(store, random.int(2) === 0 ? 'v1' : undefined, { signal }),
      );
    }
    expect(failures, report(failures)).toEqual([]);
    expect(tally.answered, `seed ${SEED}`).toBeGreaterThan(100);
    expect(tally.refused, `seed ${SEED}`).toBeGreaterThan(100);
    expect(process.memoryUsage().rss - before).toBeLessThan(MEMORY_BOUND);
  }, 120_000);
});

/** Replace one value somewhere in `document` (or repeat an array's entries), chosen by the PRNG. */
function mutateJson(document: unknown, values: readonly unknown[], keys: readonly string[]): void {
  let node = document;
  for (let depth = 0; depth < 6; depth++) {
    if (Array.isArray(node)) {
      const items: unknown[] = node;
      if (items.length === 0 || random.int(4) === 0) {
        const repeated = items[0] ?? random.pick(values);
        for (let n = random.int(50); n > 0; n--) items.push(repeated);
        return;
      }
      const index = random.int(items.length);
      if (random.int(3) === 0) {
        items[index] = random.pick(values);
        return;
      }
      node = items[index];
    } else if (typeof node === 'object' && node !== null) {
      const key = random.int(3) === 0 ? random.pick(keys) : random.pick([...Object.keys(node), ...keys]);
      // Own properties only: walking into an inherited `__proto__` would pollute Object.prototype.
      if (random.int(3) === 0 || !Object.hasOwn(node, key)) {
        Object.defineProperty(node, key, {
          value: random.pick(values),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return;
      }
      node = Reflect.get(node, key);
    } else {
      return;
    }
  }
}
