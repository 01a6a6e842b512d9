import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Pieces are cut at 1 MiB file offsets: big enough to hash cheaply, small enough to keep memory flat. */
const PIECE = 1024 * 1024;

let zeroes: Buffer | undefined;

function isZero(piece: Buffer): boolean {
  zeroes ??= Buffer.alloc(PIECE);
  return piece.equals(zeroes.subarray(0, piece.length));
}

export type WriteOutcome =
  | { readonly kind: 'complete'; readonly bytes: number }
  /** More than `limit` bytes arrived; reading stopped. */
  | { readonly kind: 'over'; readonly bytes: number }
  /** The body ended with an error (the client went away mid-part). */
  | { readonly kind: 'cut'; readonly bytes: number };

/**
 * Stream `body` into `file` from `start`, hashing as it goes. All-zero pieces are not written: the
 * caller's ftruncate turns them into holes, so a 45 GiB sparse model file costs no disk here. Bytes
 * beyond the held offset are always zero (a failed part is truncated away), which makes skipping safe.
 */
export async function writeBody(
  body: AsyncIterable<unknown>,
  file: FileHandle,
  hash: Hash,
  start: number,
  limit: number,
): Promise<WriteOutcome> {
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let pieceStart = start;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const piece = pending.length === 1 && pending[0] !== undefined ? pending[0] : Buffer.concat(pending, pendingBytes);
    hash.update(piece);
    if (!isZero(piece)) await file.write(piece, 0, piece.length, pieceStart);
    pieceStart += pendingBytes;
    pending.length = 0;
    pendingBytes = 0;
  };
  // Iterated by hand: leaving a `for await` early would destroy the request, and with it the socket the
  // 400 for an oversized part still has to go out on.
  const chunks = body[Symbol.asyncIterator]();
  try {
    for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) {
      const chunk: unknown = next.value;
      let rest = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      bytes += rest.length;
      if (bytes > limit) return { kind: 'over', bytes };
      while (rest.length > 0) {
        const room = PIECE - ((pieceStart + pendingBytes) % PIECE);
        const take = rest.subarray(0, room);
        rest = rest.subarray(take.length);
        pending.push(take);
        pendingBytes += take.length;
        if (take.length === room) await flush();
      }
    }
    await flush();
    return { kind: 'complete', bytes };
  } catch (error) {
    if (isAbort(error)) return { kind: 'cut', bytes };
    throw error;
  }
}

/** node reports a request body cut short as `aborted` / ECONNRESET on the stream. */
function isAbort(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = 'code' in error ? error.code : undefined;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || error.message === 'aborted';
}
