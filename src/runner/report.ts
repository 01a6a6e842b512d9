import { type Check, type CheckStatus, docsUrl } from '../plugin.ts';
import type { CheckOutcome, RunReport } from './run.ts';

/** JSON report version: bump on any incompatible change of {@link Report}. */
export const REPORT_SCHEMA_VERSION = 1;

/** One check in the report. `message` holds the skip reason for skips. */
export interface ReportEntry {
  readonly id: string;
  readonly title: string;
  readonly scope: Check['scope'];
  readonly origin: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly remediation: string | null;
  readonly details: readonly string[];
  readonly durationMs: number;
  readonly docsUrl: string;
}

export interface Report {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tool: { readonly name: 'preflight'; readonly version: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly scope: 'laptop' | 'pod';
  readonly strict: boolean;
  readonly aborted: boolean;
  readonly summary: Readonly<Record<CheckStatus, number>> & { readonly total: number };
  readonly exitCode: number;
  readonly checks: readonly ReportEntry[];
}

export interface ReportInput {
  readonly run: RunReport;
  readonly origins: ReadonlyMap<Check, string>;
  readonly version: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly scope: 'laptop' | 'pod';
  readonly strict: boolean;
}

/** Exit codes of `preflight check` (DEVELOPERS.md): 3 a check failed, 4 warnings under --strict. */
export const EXIT = { ok: 0, internal: 1, usage: 2, failed: 3, strictWarnings: 4, interrupted: 130 } as const;

export function buildReport(input: ReportInput): Report {
  const checks = input.run.outcomes.map((o) => toEntry(o, input.origins.get(o.check) ?? 'built-in'));
  const count = (status: CheckStatus): number => checks.filter((c) => c.status === status).length;
  const summary = {
    total: checks.length,
    pass: count('pass'),
    warn: count('warn'),
    fail: count('fail'),
    skip: count('skip'),
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'preflight', version: input.version },
    startedAt: input.startedAt.toISOString(),
    durationMs: Math.round(input.durationMs),
    scope: input.scope,
    strict: input.strict,
    aborted: input.run.aborted,
    summary,
    exitCode: exitCodeFor(summary, input.strict, input.run.aborted),
    checks,
  };
}

function exitCodeFor(summary: Record<CheckStatus, number>, strict: boolean, aborted: boolean): number {
  if (aborted) return EXIT.interrupted;
  if (summary.fail > 0) return EXIT.failed;
  if (strict && summary.warn > 0) return EXIT.strictWarnings;
  return EXIT.ok;
}

function toEntry(outcome: CheckOutcome, origin: string): ReportEntry {
  const { check, result } = outcome;
  const base = {
    id: check.id,
    title: check.title,
    scope: check.scope,
    origin,
    durationMs: outcome.durationMs,
    docsUrl: docsUrl(check.id),
  };
  if (result.status === 'skip')
    return { ...base, status: 'skip', message: result.reason, remediation: null, details: [] };
  return {
    ...base,
    status: result.status,
    message: result.message,
    remediation: result.status === 'pass' ? null : result.remediation,
    details: result.details ?? [],
  };
}
