import { type CheckContext, type EcrUri, type FailResult, fail, parseEcrUri } from '../src/plugin.ts';
import { nonEmpty } from './paths.ts';

export const NO_ECR = 'no ECR repository given: set ECR_URI or pass --ecr-uri (see check ecr-uri)';

/** The ECR repository of the run, or why the AWS checks do not apply. */
export function ecrTarget(ctx: CheckContext): EcrUri | string {
  const input = nonEmpty(ctx.options.ecrUri);
  if (input === undefined) return NO_ECR;
  const parsed = parseEcrUri(input);
  return parsed.ok ? parsed.value : `ECR_URI is not a valid ECR repository (see check ecr-uri): ${parsed.reason}`;
}

/** The message and, when the engine gave one, the hint of an error: the fix the user should see. */
export function describeError(error: unknown): { message: string; hint: string | undefined } {
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    typeof error === 'object' && error !== null && 'hint' in error && typeof error.hint === 'string'
      ? error.hint
      : undefined;
  return { message, hint };
}

/** `in 3h 20m` / `2h ago`. */
export function relative(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const text =
    minutes >= 60 ? `${Math.floor(minutes / 60)}h${minutes % 60 === 0 ? '' : ` ${minutes % 60}m`}` : `${minutes}m`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function loginCommand(ctx: CheckContext): string {
  return `aws sso login${ctx.options.awsProfile === undefined ? '' : ` --profile ${ctx.options.awsProfile}`}`;
}

/** The remediation when there is no namespace to look in. */
export const NO_NAMESPACE = 'no namespace given: set DS_PROJECT or pass --namespace';

/** `appliesTo` of the checks that need an ECR repository. */
export function appliesToEcr(ctx: CheckContext): true | string {
  const target = ecrTarget(ctx);
  return typeof target === 'string' ? target : true;
}

/**
 * A failed read of the cluster or AWS as a check failure, with the engine's hint as remediation.
 * An abort is re-thrown: the runner reports it, not the check.
 */
export function cannotRead(ctx: CheckContext, error: unknown, what: string, fallback: string): FailResult {
  if (ctx.signal.aborted) throw error;
  const { message, hint } = describeError(error);
  return fail(`${what}: ${message}`, { remediation: hint ?? fallback });
}

export const LOGIN_AGAIN = 'Log in to the cluster (oc login) and try again.';
