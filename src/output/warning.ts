import type { ChalkInstance } from 'chalk';

/** A warning about the run itself (not a check's): one line for stderr, so stdout stays a document. */
export function renderWarning(message: string, style: ChalkInstance): string {
  return `${style.yellow('warning:')} ${message}\n`;
}
