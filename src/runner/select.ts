import { UsageError } from '../errors.ts';
import type { Check } from '../plugin.ts';

/** Which checks a run includes; checks outside the run's scope stay in, as skips. */
export interface Selection {
  readonly only?: readonly string[] | undefined;
  readonly skip: readonly string[];
}

/**
 * Apply `--only` / `--skip`. An unknown id is a usage error listing the valid ids: a typo in
 * `--skip` must not silently run the check the user meant to skip.
 */
export function selectChecks(checks: readonly Check[], selection: Selection): Check[] {
  const known = new Set(checks.map((c) => c.id));
  for (const [flag, ids] of [
    ['--only', selection.only ?? []],
    ['--skip', selection.skip],
  ] as const) {
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new UsageError(`${flag}: unknown check id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, {
        hint: `valid ids: ${[...known].join(', ')}`,
      });
    }
  }
  const only = selection.only === undefined ? undefined : new Set(selection.only);
  const skipped = new Set(selection.skip);
  return checks.filter((c) => (only === undefined || only.has(c.id)) && !skipped.has(c.id));
}

/** Split a comma-separated id list (`--only a,b`), ignoring blanks. */
export function parseIdList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
