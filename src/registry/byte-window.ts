import { Readable } from 'node:stream';

/**
 * Exactly `length` bytes of `source` (then the source is released), calling `onBytes` for each
 * piece: hashing and progress ride on the bytes as they go out, so nothing is buffered beyond the
 * streams' own high-water marks. A plain Readable that ends when the window is full: a Transform
 * cut off mid-source never finished its writable side, so `finished()` on it never settled (a resume
 * that re-hashed a gap waited forever, and Node exited 13 with the push half done).
 */
export function byteWindow(source: Readable, length: number, onBytes: (chunk: Buffer) => void): Readable {
  async function* take(): AsyncGenerator<Buffer> {
    let remaining = length;
    try {
      if (remaining === 0) return;
      for await (const chunk of source) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        const piece = bytes.length > remaining ? bytes.subarray(0, remaining) : bytes;
        remaining -= piece.length;
        onBytes(piece);
        yield piece;
        if (remaining === 0) return;
      }
      throw new Error(`source ended ${remaining} bytes early`);
    } finally {
      source.destroy();
    }
  }
  return Readable.from(take(), { objectMode: false });
}
