import { performance } from 'node:perf_hooks';
import { formatDuration } from '../config/units.ts';
import type { Check, CheckContext, CheckResult } from '../plugin.ts';
import { fail, skip } from '../plugin.ts';
import { runPool } from '../util/pool.ts';
import { isCheckResult, resultProblem } from './validate.ts';

/** One check's end: its result, how long it took, and the error behind a crash (for --debug). */
export interface CheckOutcome {
  readonly check: Check;
  readonly result: CheckResult;
  readonly durationMs: number;
  readonly error?: unknown;
}

export type RunEvent =
  { readonly type: 'start'; readonly check: Check } | { readonly type: 'finish'; readonly outcome: CheckOutcome };

export interface RunOptions {
  readonly checks: readonly Check[];
  /** Shared by every check; each gets its own `signal`. */
  readonly context: Omit<CheckContext, 'signal'>;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Aborts the whole run (Ctrl-C): running checks see it, queued ones never start. */
  readonly signal: AbortSignal;
  readonly onEvent?: (event: RunEvent) => void;
  /** Where the check came from, for the crash remediation. */
  readonly origin?: (check: Check) => string;
}

export interface RunReport {
  /** In the order of `checks`, whatever order they finished in. */
  readonly outcomes: readonly CheckOutcome[];
  readonly aborted: boolean;
}

/** Run checks with at most `concurrency` at once; a check never outlives its timeout or the run. */
export async function runChecks(options: RunOptions): Promise<RunReport> {
  const outcomes = await runPool(
    options.checks,
    options.concurrency,
    async (check) => {
      options.onEvent?.({ type: 'start', check });
      const outcome = await runOne(check, options);
      options.onEvent?.({ type: 'finish', outcome });
      return outcome;
    },
    options.signal,
  );
  const reason = abortReason(options.signal);
  return {
    aborted: options.signal.aborted,
    outcomes: options.checks.map(
      (check, i) => outcomes[i] ?? { check, result: skip(`not run: ${reason}`), durationMs: 0 },
    ),
  };
}

async function runOne(check: Check, options: RunOptions): Promise<CheckOutcome> {
  const started = performance.now();
  const controller = new AbortController();
  const timeoutLabel = formatDuration(options.timeoutMs);
  let settle: (result: CheckOutcome) => void = () => undefined;
  // A check that ignores its signal must still not hold up the run: the race ends it from outside.
  const interrupted = new Promise<CheckOutcome>((resolve) => (settle = resolve));
  const done = (result: CheckResult, error?: unknown): CheckOutcome => ({
    check,
    result,
    durationMs: Math.round(performance.now() - started),
    ...(error === undefined ? {} : { error }),
  });
  const timer = setTimeout(() => {
    controller.abort(new Error(`timed out after ${timeoutLabel}`));
    settle(done(fail(`timed out after ${timeoutLabel}`, { remediation: timeoutRemediation(timeoutLabel) })));
  }, options.timeoutMs);
  const onAbort = (): void => {
    controller.abort(options.signal.reason);
    settle(done(skip(`interrupted: ${abortReason(options.signal)}`)));
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const context: CheckContext = { ...options.context, signal: controller.signal };
    return await Promise.race([interrupted, execute(check, context, options).then((r) => done(r.result, r.error))]);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
  }
}

async function execute(
  check: Check,
  ctx: CheckContext,
  options: RunOptions,
): Promise<{ result: CheckResult; error?: unknown }> {
  try {
    if (check.scope !== 'any' && check.scope !== ctx.scope) {
      return {
        result: skip(
          `runs in ${check.scope} scope only; this run is ${ctx.scope} (--scope ${check.scope} to force it)`,
        ),
      };
    }
    // Held to its type at run time: a plain-object plugin's `async appliesTo` returns a Promise,
    // which would otherwise read as a skip whose reason is "[object Promise]".
    const applies: unknown = check.appliesTo === undefined ? true : check.appliesTo(ctx);
    if (typeof applies === 'string' && applies.trim() !== '') return { result: skip(applies) };
    if (applies === false) return { result: skip('does not apply here') };
    if (applies !== true) {
      const origin = options.origin?.(check) ?? 'built-in';
      const got =
        applies instanceof Promise
          ? 'a Promise (appliesTo must be synchronous)'
          : applies === undefined
            ? 'nothing'
            : JSON.stringify(applies);
      return {
        result: fail(`check ${check.id} (${origin}): appliesTo returned ${got}, not true, false or a reason`, {
          remediation: `fix appliesTo in ${origin}: return true to run the check, false or a reason string to skip it; do async work in run()`,
        }),
      };
    }
    return { result: validResult(check, await check.run(ctx), options) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const origin = options.origin?.(check) ?? 'preflight';
    return {
      error,
      result: fail(`check crashed: ${message}`, {
        remediation: `This is a bug in ${origin}, not in your pipeline: rerun with --debug for the stack trace and report it.`,
      }),
    };
  }
}

/**
 * The result as returned, or a failure of that check saying what is wrong with it: a plain-object
 * plugin is not held to the types, and a `fail` without a remediation must not read as a clean report.
 */
function validResult(check: Check, result: unknown, options: RunOptions): CheckResult {
  if (isCheckResult(result)) return result;
  const origin = options.origin?.(check) ?? 'built-in';
  const problem = resultProblem(result) ?? 'wrong shape';
  return fail(`check ${check.id} (${origin}) returned an invalid result: ${problem}`, {
    remediation:
      origin === 'built-in'
        ? 'This is a bug in preflight, not in your pipeline: rerun with --debug and report it.'
        : `Fix ${origin}: build results with pass(), warn(), fail() and skip() from 'preflight'; warn() and fail() take { remediation }.`,
  });
}

function timeoutRemediation(label: string): string {
  return `Something the check waits on did not answer within ${label} (network, API server, filesystem): rerun with --debug to see where it stopped, or raise the limit with --timeout.`;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'run aborted';
}
