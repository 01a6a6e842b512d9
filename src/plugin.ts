/**
 * The public plugin API of preflight. Built-in checks in `checks/` and third-party plugins import
 * only this module: everything a check may touch comes through {@link CheckContext}.
 * @packageDocumentation
 */
import type { CheckContext } from './context/types.ts';
import { packageRepository } from './version.ts';

export type * from './context/types.ts';

/** Where a check makes sense: on a developer laptop, inside a pipeline pod, or anywhere. */
export type CheckScope = 'laptop' | 'pod' | 'any';

/** Status of a finished check. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** A check that found nothing wrong. */
export interface PassResult {
  readonly status: 'pass';
  readonly message: string;
  /** Extra facts worth showing (identity, sizes); never secret values. */
  readonly details?: readonly string[];
}

/** A problem the pipeline may survive; the remediation says how to remove it. */
export interface WarnResult {
  readonly status: 'warn';
  readonly message: string;
  /** One sentence plus the exact command or YAML to apply. */
  readonly remediation: string;
  readonly details?: readonly string[];
}

/** A problem the pipeline will not survive. */
export interface FailResult {
  readonly status: 'fail';
  readonly message: string;
  /** One sentence plus the exact command or YAML to apply. */
  readonly remediation: string;
  readonly details?: readonly string[];
}

/** The check did not apply here; the reason says why. */
export interface SkipResult {
  readonly status: 'skip';
  readonly reason: string;
}

/** What a check returns. `warn` and `fail` cannot be built without a remediation. */
export type CheckResult = PassResult | WarnResult | FailResult | SkipResult;

/** A check: a plain object, default-exported from its module through {@link defineCheck}. */
export interface Check {
  /** kebab-case, unique across built-ins and plugins; used by `--only`/`--skip`. */
  readonly id: string;
  /** One line shown while the check runs. */
  readonly title: string;
  readonly scope: CheckScope;
  /** What the check looks at, for `preflight check --list`. */
  readonly inspects: string;
  /** Return `true` to run, or a string: the reason to skip. Must be cheap and side-effect free. */
  appliesTo?(ctx: CheckContext): boolean | string;
  run(ctx: CheckContext): Promise<CheckResult>;
}

/**
 * Declare a check. It returns its argument unchanged: it exists so that a plugin gets the types,
 * and so that plugins and built-ins share one shape. preflight checks the object when it loads a
 * plugin and every result a check returns, whether or not it was declared through here.
 */
export function defineCheck(check: Check): Check {
  return check;
}

/** Options shared by the result helpers. */
export interface ResultOptions {
  readonly details?: readonly string[];
}

/** Build a passing result. */
export function pass(message: string, options: ResultOptions = {}): PassResult {
  return { status: 'pass', message, ...options };
}

/** Build a warning: the remediation is required. */
export function warn(message: string, options: ResultOptions & { remediation: string }): WarnResult {
  return { status: 'warn', message, ...options };
}

/** Build a failure: the remediation is required. */
export function fail(message: string, options: ResultOptions & { remediation: string }): FailResult {
  return { status: 'fail', message, ...options };
}

/** Build a skip with the reason it did not apply. */
export function skip(reason: string): SkipResult {
  return { status: 'skip', reason };
}

/**
 * Where the documentation of a check lives: derived from its id and package.json's repository, so it
 * cannot go stale.
 */
export function docsUrl(id: string): string {
  const repository = packageRepository();
  return `${repository === undefined ? '' : `${repository}/blob/main/`}README.md#check-${id}`;
}

/** The check ids must stay usable as flags and anchors. */
export const CHECK_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export { FileSystemError, isFileSystemError } from './context/fs-error.ts';
export { parseEcrUri, isEcrHost, type EcrUri, type EcrUriParseResult } from './aws/ecr-uri.ts';
export { principalOf } from './aws/arn.ts';
export { platformMatches } from './image/platform.ts';
export { modelcarContractProblems } from './modelcar/contract.ts';
