import { type Check, type CheckResult, defineCheck } from '../../src/plugin.ts';

/** A promise the test settles by hand: lets tests order events without sleeping. */
export interface Gate<T> {
  promise: Promise<T>;
  open: (value: T) => void;
}

export function gate<T = undefined>(): Gate<T> {
  let open: (value: T) => void = () => undefined;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A check for runner tests: returns `result`, or whatever `run` does. */
export function stubCheck(id: string, run: Check['run'] | CheckResult, extra: Partial<Check> = {}): Check {
  return defineCheck({
    id,
    title: `stub ${id}`,
    scope: 'any',
    inspects: 'nothing (test stub)',
    run: typeof run === 'function' ? run : () => Promise.resolve(run),
    ...extra,
  });
}
