import { Listr, ListrLogger, type ListrTask, type ProcessOutput } from 'listr2';
import type { Check, CheckResult } from '../plugin.ts';
import type { CheckOutcome, RunEvent, RunReport } from '../runner/run.ts';
import { deferred } from '../util/deferred.ts';

/** Live progress of a check run, fed by runner events; `end` settles whatever never ran. */
export interface CheckProgress {
  onEvent(event: RunEvent): void;
  end(run: RunReport): Promise<void>;
}

/**
 * listr2 as a display only: the runner owns scheduling, timeouts and abort, and each listr task
 * just mirrors one check's start and result. That keeps the TTY and the plain path identical in
 * behaviour. `renderer: 'test'` with a custom ProcessOutput makes the output assertable.
 */
export function createListrProgress(
  checks: readonly Check[],
  options: { renderer: 'default' | 'test'; processOutput: ProcessOutput },
): CheckProgress {
  const started = new Map(checks.map((c) => [c.id, deferred<undefined>()]));
  const finished = new Map(checks.map((c) => [c.id, deferred<CheckResult>()]));
  const tasks: ListrTask[] = checks.map((check) => ({
    title: `${check.title} (queued)`,
    task: async (_ctx, task) => {
      await started.get(check.id)?.promise;
      task.title = check.title;
      const result = await finished.get(check.id)?.promise;
      if (result === undefined) return;
      if (result.status === 'skip') {
        task.skip(`${check.title}: ${result.reason}`);
        return;
      }
      task.title =
        result.status === 'warn' ? `${check.title}: warning: ${result.message}` : `${check.title}: ${result.message}`;
      if (result.status === 'fail') throw new Error(`${check.title}: ${result.message}`);
    },
  }));
  const list = new Listr(tasks, {
    concurrent: true,
    exitOnError: false,
    collectErrors: false,
    registerSignalListeners: false,
    renderer: options.renderer,
    rendererOptions: {
      logger: new ListrLogger({ processOutput: options.processOutput }),
      ...(options.renderer === 'default' ? { collapseErrors: false, showErrorMessage: true } : {}),
    },
  });
  const running = list.run();
  const settle = (outcome: CheckOutcome): void => {
    started.get(outcome.check.id)?.resolve(undefined);
    finished.get(outcome.check.id)?.resolve(outcome.result);
  };
  return {
    onEvent(event) {
      if (event.type === 'start') started.get(event.check.id)?.resolve(undefined);
      else settle(event.outcome);
    },
    async end(run) {
      for (const outcome of run.outcomes) settle(outcome);
      await running;
    },
  };
}
