import type { PushEvent } from '../registry/push.ts';
import type { Report } from '../runner/report.ts';
import { type CheckCommandInput, executeCheckRun, prepareCheckRun } from './check.ts';
import type { ModelcarBuildInput, ModelcarBuildResult } from './modelcar-build.ts';
import type { PushCommandInput, PushCommandResult } from './push.ts';

type Publish =
  | { readonly kind: 'build'; readonly input: Omit<ModelcarBuildInput, 'signal' | 'onEvent'> }
  | { readonly kind: 'push'; readonly input: Omit<PushCommandInput, 'signal' | 'onEvent'> };

export interface RunStepInput {
  readonly checks: CheckCommandInput;
  readonly publish: Publish;
  readonly signal: AbortSignal;
  /** The check report, as soon as the checks are done and before anything is pushed. */
  readonly onChecks?: (report: Report) => void;
  /** Wraps the upload (the CLI's progress view); by default it only runs it. */
  readonly upload?: <T>(work: (onEvent: (event: PushEvent) => void) => Promise<T>) => Promise<T>;
}

export type RunStepResult =
  | { readonly outcome: 'checks-failed'; readonly exitCode: number; readonly checks: Report }
  | {
      readonly outcome: 'pushed';
      readonly exitCode: 0;
      readonly reference: string;
      readonly digest: string;
      readonly checks: Report;
      readonly push: ModelcarBuildResult | PushCommandResult;
    };

/**
 * `preflight run`, the pipeline step: the checks first; a failure (or a warning under --strict)
 * stops the step before anything is pushed. Then the modelcar build, or the push of an archive.
 * The modelcar contract is checked on the planned image before any upload (a breach is exit 2 with
 * nothing pushed), so a step that returns `pushed` pushed a working modelcar.
 */
export async function runStep(input: RunStepInput): Promise<RunStepResult> {
  const prepared = await prepareCheckRun(input.checks);
  const { report } = await executeCheckRun(prepared, { ...input.checks, signal: input.signal });
  input.onChecks?.(report);
  // 3, 4, or 130/143 when the checks were interrupted (main() reports that as the signal).
  if (report.exitCode !== 0) return { outcome: 'checks-failed', exitCode: report.exitCode, checks: report };
  const upload = input.upload ?? ((work) => work(() => undefined));
  const { publish, signal } = input;
  let pushed: ModelcarBuildResult | PushCommandResult;
  if (publish.kind === 'build') {
    const { modelcarBuild } = await import('./modelcar-build.ts');
    pushed = await upload((onEvent) => modelcarBuild({ ...publish.input, signal, onEvent }));
  } else {
    const { push } = await import('./push.ts');
    pushed = await upload((onEvent) => push({ ...publish.input, signal, onEvent }));
  }
  const digest = pushed.reference.slice(pushed.reference.lastIndexOf('@') + 1);
  return { outcome: 'pushed', exitCode: 0, reference: pushed.reference, digest, checks: report, push: pushed };
}
