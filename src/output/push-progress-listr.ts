import { performance } from 'node:perf_hooks';
import { Listr, type ListrDefaultRendererLogLevels, ListrLogger, type ListrTask, ProcessOutput } from 'listr2';
import { formatBytes } from '../config/units.ts';
import { type Deferred, deferred } from '../util/deferred.ts';
import { type PushProgress, type Totals, overall, track } from './push-progress.ts';
import { formatTransfer, shortDigest } from './rate.ts';
import type { Terminal } from './terminal.ts';

/** listr2 progress: a line per blob (waiting, bytes, rate, ETA, outcome) and an overall line. */
export function listrProgress(term: Terminal): PushProgress {
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
          rendererOptions: {
            logger: new ListrLogger<ListrDefaultRendererLogLevels>({
              processOutput: new ProcessOutput(term.io.stdout, term.io.stderr),
            }),
          },
        });
        running = list.run();
      }
      if (event.type === 'blob-start') started.get(event.digest)?.resolve(undefined);
      if (event.type === 'blob-progress')
        outputs.get(event.digest)?.(formatTransfer(event.bytes, event.size, performance.now() - totals.started));
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
