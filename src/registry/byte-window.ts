import { Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * Pass through exactly `length` bytes of `source` (then end and release the source), calling
 * `onBytes` for each piece: hashing and progress ride on the bytes as they go out, so nothing is
 * buffered beyond the stream's own high-water marks.
 */
export function byteWindow(source: Readable, length: number, onBytes: (chunk: Buffer) => void): Readable {
  let remaining = length;
  const window = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      if (remaining <= 0) {
        callback();
        return;
      }
      const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= piece.length;
      onBytes(piece);
      this.push(piece);
      if (remaining === 0) {
        source.unpipe(window);
        source.destroy();
        this.push(null);
      }
      callback();
    },
    flush(callback: TransformCallback) {
      callback(remaining > 0 ? new Error(`source ended ${remaining} bytes early`) : null);
    },
  });
  source.on('error', (error) => window.destroy(error));
  window.on('close', () => source.destroy());
  if (length === 0) {
    source.destroy();
    window.end();
    return window;
  }
  return source.pipe(window);
}
