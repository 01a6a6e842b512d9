import { performance } from 'node:perf_hooks';
import { formatBytes } from '../config/units.ts';
import type { PushEvent } from '../registry/push.ts';
import { formatTransfer, shortDigest } from './rate.ts';
import type { Terminal } from './terminal.ts';

/** Live progress of a push; `end` stops timers and waits for the display to settle. */
export interface PushProgress {
  onEvent(event: PushEvent): void;
  end(): Promise<void>;
}

const PLAIN_INTERVAL_MS = 10_000;

/**
 * listr2 on a terminal, plain lines in logs: a line per blob event and an overall line every 10 s.
 * listr2 is loaded only for a terminal: a pipeline step keeps its memory for the push.
 */
export async function createPushProgress(term: Terminal, stream: 'stdout' | 'stderr'): Promise<PushProgress> {
  if (!term.interactive || stream !== 'stdout') return plainProgress(term, stream);
  const { listrProgress } = await import('./push-progress-listr.ts');
  return listrProgress(term);
}

export interface Totals {
  readonly started: number;
  total: number;
  readonly done: Map<string, number>;
}

export function track(totals: Totals, event: PushEvent): void {
  if (event.type === 'plan') totals.total = event.blobs.reduce((n, b) => n + b.size, 0);
  if (event.type === 'blob-progress')
    totals.done.set(event.digest, Math.max(totals.done.get(event.digest) ?? 0, event.bytes));
  if (event.type === 'blob-done') totals.done.set(event.digest, event.size);
}

export function overall(totals: Totals): string {
  const done = [...totals.done.values()].reduce((n, b) => n + b, 0);
  return formatTransfer(done, totals.total, performance.now() - totals.started);
}

function plainProgress(term: Terminal, stream: 'stdout' | 'stderr'): PushProgress {
  const write = (line: string): void => {
    if (stream === 'stdout') term.out(`${line}\n`);
    else term.err(`${line}\n`);
  };
  const totals: Totals = { started: performance.now(), total: 0, done: new Map() };
  const timer = setInterval(() => {
    write(`progress: ${overall(totals)}`);
  }, PLAIN_INTERVAL_MS);
  timer.unref();
  return {
    onEvent(event) {
      track(totals, event);
      if (event.type === 'plan') write(`pushing ${event.blobs.length} blobs, ${formatBytes(totals.total)}`);
      if (event.type === 'blob-start') write(`blob ${shortDigest(event.digest)} ${formatBytes(event.size)}: started`);
      if (event.type === 'blob-done')
        write(`blob ${shortDigest(event.digest)} ${formatBytes(event.size)}: ${event.outcome}`);
      if (event.type === 'manifest') write(`manifest ${shortDigest(event.digest)}: pushed as ${event.reference}`);
    },
    end() {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
