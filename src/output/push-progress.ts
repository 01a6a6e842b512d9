import { performance } from 'node:perf_hooks';
import { Listr, type ListrDefaultRendererLogLevels, ListrLogger, type ListrTask, ProcessOutput } from 'listr2';
import { formatBytes } from '../config/units.ts';
import type { PushEvent } from '../registry/push.ts';
import { formatTransfer, shortDigest } from './rate.ts';
import type { Terminal } from './terminal.ts';
import { type Deferred, deferred } from '../util/deferred.ts';

/** Live progress of a push; `end` stops timers and waits for the display to settle. */
export interface PushProgress {
  onEvent(event: PushEvent): void;
  end(): Promise<void>;
}

const PLAIN_INTERVAL_MS = 10_000;

/** listr2 on a terminal, plain lines in logs: a line per blob event and an overall line every 10 s. */
export function createPushProgress(term: Terminal, stream: 'stdout' | 'stderr'): PushProgress {
  return term.interactive && stream === 'stdout' ? listrProgress(term) : plainProgress(term, stream);
}

interface Totals {
  readonly started: number;
  total: number;
  readonly done: Map<string, number>;
}

function track(totals: Totals, event: PushEvent): void {
  if (event.type === 'plan') totals.total = event.blobs.reduce((n, b) => n + b.size, 0);
  if (event.type === 'blob-progress') totals.done.set(event.digest, Math.max(totals.done.get(event.digest) ?? 0, event.bytes));
  if (event.type === 'blob-done') totals.done.set(event.digest, event.size);
}

function overall(totals: Totals): string {
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
      if (event.type === 'blob-done') write(`blob ${shortDigest(event.digest)} ${formatBytes(event.size)}: ${event.outcome}`);
      if (event.type === 'manifest') write(`manifest ${shortDigest(event.digest)}: pushed as ${event.reference}`);
    },
    end() {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}

function listrProgress(term: Terminal): PushProgress {
  const totals: Totals = { started: performance.now(), total: 0, done: new Map() };
  // Created at plan time, before any task runs: a skipped blob starts and ends in one tick.
  const started = new Map<string, Deferred<undefined>>();
  const finished = new Map<string, Deferred<string>>();
  const outputs = new Map<string, (text: string) => void>();
  const allDone = deferred<undefined>();
  let running: Promise<unknown> = Promise.resolve();
  const blobTask = (digest: string, size: number): ListrTask => {
    const label = `${shortDigest(digest)} ${formatBytes(size)}`;
    return {
      title: `${label}: waiting`,
      task: async (_ctx, task) => {
        await started.get(digest)?.promise;
        task.title = label;
        outputs.set(digest, (text) => {
          task.output = text;
        });
        task.title = `${label}: ${(await finished.get(digest)?.promise) ?? 'done'}`;
      },
    };
  };
  const overallTask: ListrTask = {
    title: 'overall',
    task: async (_ctx, task) => {
      const timer = setInterval(() => {
        task.output = overall(totals);
      }, 250);
      await allDone.promise;
      clearInterval(timer);
      task.title = `overall: ${overall(totals)}`;
    },
  };
  return {
    onEvent(event) {
      track(totals, event);
      if (event.type === 'plan') {
        for (const blob of event.blobs) {
          started.set(blob.digest, deferred());
          finished.set(blob.digest, deferred());
        }
        const list = new Listr([overallTask, ...event.blobs.map((b) => blobTask(b.digest, b.size))], {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          renderer: 'default',
          rendererOptions: { logger: new ListrLogger<ListrDefaultRendererLogLevels>({ processOutput: new ProcessOutput(term.io.stdout, term.io.stderr) }) },
        });
        running = list.run();
      }
      if (event.type === 'blob-start') started.get(event.digest)?.resolve(undefined);
      if (event.type === 'blob-progress') outputs.get(event.digest)?.(formatTransfer(event.bytes, event.size, performance.now() - totals.started));
      if (event.type === 'blob-done') {
        started.get(event.digest)?.resolve(undefined);
        finished.get(event.digest)?.resolve(event.outcome);
      }
    },
    async end() {
      allDone.resolve(undefined);
      for (const d of started.values()) d.resolve(undefined);
      for (const d of finished.values()) d.resolve('stopped');
      await running;
    },
  };
}
