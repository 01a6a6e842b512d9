import { parseUntrustedJson } from '../util/json.ts';

// Declared with every other error class in src/errors.ts (one table of codes).
export { RegistryError } from '../errors.ts';

/** Pull the first OCI error (`{"errors":[{"code","message"}]}`) out of a body, tolerating non-JSON. */
export function parseErrorBody(text: string): { code?: string; message?: string } {
  const parsed = parseUntrustedJson(text);
  const errors: unknown =
    parsed.ok && typeof parsed.value === 'object' && parsed.value !== null && 'errors' in parsed.value
      ? parsed.value.errors
      : undefined;
  const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
  if (typeof first === 'object' && first !== null) {
    const code = 'code' in first && typeof first.code === 'string' ? first.code : undefined;
    const message = 'message' in first && typeof first.message === 'string' ? first.message : undefined;
    return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) };
  }
  const trimmed = text.trim().slice(0, 300);
  return trimmed === '' ? {} : { message: trimmed };
}

/** ECR answers 403, not 401, when its token expired: the one 403 worth re-authenticating for. */
export function isExpiredTokenAnswer(status: number, body: string): boolean {
  return status === 403 && /authorization token has expired/i.test(body);
}
