import { PreflightError } from '../errors.ts';

/** A registry answered with an error status; `code` is the OCI error code (`BLOB_UNKNOWN`, `DENIED`, …). */
export class RegistryError extends PreflightError {
  readonly status: number;
  readonly code: string | undefined;
  /** The `Retry-After` header of a 429 or 503, for whoever decides when to try again. */
  readonly retryAfter: string | undefined;

  constructor(message: string, options: { status: number; code?: string | undefined; hint?: string | undefined; retryAfter?: string | undefined; cause?: unknown }) {
    super(message, options);
    this.status = options.status;
    this.code = options.code;
    this.retryAfter = options.retryAfter;
  }
}

/** Pull the first OCI error (`{"errors":[{"code","message"}]}`) out of a body, tolerating non-JSON. */
export function parseErrorBody(text: string): { code?: string; message?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'errors' in parsed && Array.isArray(parsed.errors)) {
      const first: unknown = parsed.errors[0];
      if (typeof first === 'object' && first !== null) {
        const code = 'code' in first && typeof first.code === 'string' ? first.code : undefined;
        const message = 'message' in first && typeof first.message === 'string' ? first.message : undefined;
        return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) };
      }
    }
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const trimmed = text.trim().slice(0, 300);
  return trimmed === '' ? {} : { message: trimmed };
}

/** ECR answers 403, not 401, when its token expired: the one 403 worth re-authenticating for. */
export function isExpiredTokenAnswer(status: number, body: string): boolean {
  return status === 403 && /authorization token has expired/i.test(body);
}
