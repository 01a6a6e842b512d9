import { Socket } from 'node:net';
import type { Direction } from 'node:tty';
import { main } from '../../src/cli.ts';

type WriteCallback = (error?: Error | null) => void;

/**
 * What main() writes to stdout or stderr, kept as text: a pipe, not a terminal (no colour, no live
 * redraws). A Socket subclass because the Io type is the process's tty.WriteStream; nothing is
 * connected, and every write lands in {@link text}.
 */
export class CapturedStream extends Socket {
  readonly isTTY = false;
  readonly columns = 0;
  readonly rows = 0;
  #text = '';

  get text(): string {
    return this.#text;
  }

  override write(chunk: Uint8Array | string, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback) {
    this.#text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done !== undefined) queueMicrotask(() => done(null));
    return true;
  }

  clearLine(_dir: Direction, callback?: () => void): boolean {
    callback?.();
    return true;
  }

  clearScreenDown(callback?: () => void): boolean {
    callback?.();
    return true;
  }

  cursorTo(_x: number, y?: number | (() => void), callback?: () => void): boolean {
    (typeof y === 'function' ? y : callback)?.();
    return true;
  }

  moveCursor(_dx: number, _dy: number, callback?: () => void): boolean {
    callback?.();
    return true;
  }

  getColorDepth(): number {
    return 1;
  }

  hasColors(): boolean {
    return false;
  }

  getWindowSize(): [number, number] {
    return [this.columns, this.rows];
  }
}

export interface MainResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The CLI in this process: `main()` with captured streams and exactly `env` (plus PATH and
 * NO_COLOR), the way bin/preflight.js calls it, without spawning Node. Lets a test stub what a
 * spawned CLI cannot be given (dns.lookup, the retry backoff).
 */
export async function runMain(
  args: readonly string[],
  options: { readonly env?: Record<string, string | undefined>; readonly signal?: AbortSignal } = {},
): Promise<MainResult> {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const env = { PATH: process.env.PATH, NO_COLOR: '1', ...options.env };
  const code = await main(
    ['node', 'preflight', ...args],
    { stdout, stderr, env },
    options.signal ?? new AbortController().signal,
  );
  return { code, stdout: stdout.text, stderr: stderr.text };
}
