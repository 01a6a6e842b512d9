import type { RunStepResult } from '../commands/run.ts';

/** The JSON of `run` (stdout under -o json, and --report-file): the outcome, the checks and the push. */
export function renderRunReport(result: RunStepResult): string {
  // The exit code is the process's answer, not part of the document.
  const document = { schemaVersion: 1, ...result, exitCode: undefined };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The line that tells a pipeline log why nothing was pushed. */
export function renderChecksStopped(exitCode: number): string {
  return `preflight run: ${exitCode === 4 ? 'warnings under --strict' : 'a check failed'}: nothing was pushed\n`;
}
