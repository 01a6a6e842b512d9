import { CHECK_ID_PATTERN, type Check, type CheckResult } from '../plugin.ts';

const SCOPES = new Set(['laptop', 'pod', 'any']);
const STATUSES = new Set(['pass', 'warn', 'fail', 'skip']);

/**
 * What is wrong with a value offered as a check, or undefined. `defineCheck` only gives a plugin its
 * types, so this is the one runtime check of every plugin, however its object was built.
 */
export function checkShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'no default export of a check object';
  const fields = new Map<string, unknown>(Object.entries(value));
  const id = fields.get('id');
  if (typeof id !== 'string' || !CHECK_ID_PATTERN.test(id))
    return `"id" must be a kebab-case string (got ${JSON.stringify(id)})`;
  for (const key of ['title', 'inspects']) {
    const field = fields.get(key);
    if (typeof field !== 'string' || field === '') return `"${key}" must be a non-empty string`;
  }
  const scope = fields.get('scope');
  if (typeof scope !== 'string' || !SCOPES.has(scope))
    return `"scope" must be laptop, pod or any (got ${JSON.stringify(scope)})`;
  if (typeof fields.get('run') !== 'function') return '"run" must be an async function (ctx) => result';
  const appliesTo = fields.get('appliesTo');
  if (appliesTo !== undefined && typeof appliesTo !== 'function') return '"appliesTo" must be a function when given';
  return undefined;
}

// The fields were verified one by one in checkShapeProblem; this only tells the compiler.
export function isCheck(value: unknown): value is Check {
  return checkShapeProblem(value) === undefined;
}

/**
 * What is wrong with a value a check's run() resolved to, or undefined. The types make `warn` and
 * `fail` carry a remediation, but a plain-object plugin (or a JavaScript one) is not type-checked:
 * the runner asks this of every result, built-in or plugin, so the report never lacks one.
 */
export function resultProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `not a result object (got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`;
  const fields = new Map<string, unknown>(Object.entries(value));
  const status = fields.get('status');
  if (typeof status !== 'string' || !STATUSES.has(status))
    return `"status" must be pass, warn, fail or skip (got ${typeof status === 'string' ? JSON.stringify(status) : typeof status})`;
  const text = (key: string): boolean => {
    const field = fields.get(key);
    return typeof field === 'string' && field.trim() !== '';
  };
  if (status === 'skip') return text('reason') ? undefined : 'a "skip" result needs a non-empty "reason" string';
  if (typeof fields.get('message') !== 'string') return `a "${status}" result needs a "message" string`;
  if ((status === 'warn' || status === 'fail') && !text('remediation'))
    return `a "${status}" result needs a non-empty "remediation" string`;
  const details = fields.get('details');
  if (details !== undefined && !(Array.isArray(details) && details.every((d) => typeof d === 'string')))
    return '"details" must be an array of strings when given';
  return undefined;
}

// The fields were verified one by one in resultProblem; this only tells the compiler.
export function isCheckResult(value: unknown): value is CheckResult {
  return resultProblem(value) === undefined;
}
