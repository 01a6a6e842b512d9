import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { byteWindow } from '../../src/registry/byte-window.ts';

function source(sizes: readonly number[]): { stream: Readable; destroyed: () => boolean } {
  const stream = Readable.from(
    sizes.map((n, i) => Buffer.alloc(n, i + 1)),
    { objectMode: false },
  );
  return { stream, destroyed: () => stream.destroyed };
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

describe('byteWindow', () => {
  it.each([
    ['cut inside a chunk', [10, 10, 10], 15],
    ['cut at a chunk boundary', [10, 10, 10], 20],
    ['the whole source', [10, 10], 20],
    ['nothing', [10], 0],
  ])('passes exactly the window (%s) and releases the source', async (_name, sizes, length) => {
    const src = source(sizes);
    const seen: number[] = [];
    const window = byteWindow(src.stream, length, (chunk) => seen.push(chunk.length));
    const bytes = await drain(window);
    expect(bytes.length).toBe(length);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(length);
    expect(src.destroyed()).toBe(true);
  });

  // The resume path drains a window only to hash it and awaits finished(): with a window shorter than
  // its source, that promise never settled and the process exited 13 mid-push.
  it('settles finished() for a drained window shorter than its source', async () => {
    const window = byteWindow(source([8, 8, 8, 8]).stream, 12, () => undefined);
    window.resume();
    await expect(finished(window)).resolves.toBeUndefined();
  });

  it('fails when the source ends early', async () => {
    await expect(drain(byteWindow(source([4]).stream, 10, () => undefined))).rejects.toThrow(
      /source ended 6 bytes early/,
    );
  });
});
