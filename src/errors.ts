/**
 * Known failures: the CLI prints the message on one line plus the hint, and maps the class to an
 * exit code. Anything else is a bug and gets a stack trace.
 */
export class PreflightError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number = 1;

  constructor(message: string, options: { hint?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad flags or arguments (exit 2). */
export class UsageError extends PreflightError {
  override readonly exitCode = 2;
}

/** Bad configuration: preflight.yaml, env values, plugins (exit 2). */
export class ConfigError extends PreflightError {
  override readonly exitCode = 2;
}

/** The run was interrupted by a signal (exit 128 + signal number). */
export class AbortedError extends PreflightError {
  override readonly exitCode: number;

  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
    this.exitCode = signal === 'SIGINT' ? 130 : 143;
  }
}
