import type { Readable } from 'node:stream';

/**
 * Read a small document whole (a manifest, a config, index.json, an error body), refusing more than
 * `limit` bytes: whoever produced the stream decides how much it holds, and a symlink to /dev/zero
 * or a registry that never stops must cost at most `limit` of memory. The stream is destroyed on
 * every path, so a refused read frees its file or connection at once.
 */
export async function readAll(stream: Readable, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      total += bytes.length;
      if (total > limit) throw tooLarge();
      chunks.push(bytes);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

/** The first `limit` bytes of a stream, the rest discarded unread: enough of an error answer to explain it. */
export async function readAtMost(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(bytes.subarray(0, limit - total));
      total += Math.min(bytes.length, limit - total);
      if (total >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}
