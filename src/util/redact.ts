/** What replaces a value that looks like a secret. */
export const REDACTED = '[redacted]';

const SUMMARY_LIMIT = 200;

// Keys whose value is a secret in key=value, key: value and "key":"value" text.
// No dots in a key: in "containers/auth.json: permission denied" the value is not a secret.
const SECRET_KEY = String.raw`[\w-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|auth(?:orization)?|credentials?|api[_-]?key|session|cookie|signature)[\w-]*`;

const RULES: readonly { pattern: RegExp; replace: (match: string, ...groups: string[]) => string }[] = [
  // Before key=value: in "Authorization: Bearer X" the secret is X, not "Bearer".
  { pattern: /\b(bearer)\s+[^\s"',;]+/gi, replace: (_m, scheme = '') => `${scheme} ${REDACTED}` },
  // Basic credentials are base64 of user:password (a digit, a capital or +/= somewhere, which
  // "basic auth credentials" lacks). Case-sensitive so that [A-Z] means capitals.
  {
    pattern: /\b([Bb]asic|BASIC)\s+(?=[A-Za-z0-9+/]*[0-9+/=A-Z])[A-Za-z0-9+/]{8,}={0,2}/g,
    replace: (_m, scheme = '') => `${scheme} ${REDACTED}`,
  },
  {
    pattern: new RegExp(
      String.raw`(\b${SECRET_KEY}["']?\s*[:=]\s*["']?)(?!${escape(REDACTED)}|bearer\s|basic\s)[^\s"',;&]+`,
      'gi',
    ),
    replace: (_m, key = '') => `${key}${REDACTED}`,
  },
  // A JWT: base64url JSON header ("eyJ" is `{"`), payload, signature.
  { pattern: /\beyJ[\w-]*(?:\.[\w-]*){1,2}/g, replace: () => REDACTED },
  // AWS access key ids (long-term AKIA, temporary ASIA, and the other unique-id prefixes).
  { pattern: /\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|APKA|ABIA|ACCA)[A-Z0-9]{12,}/g, replace: () => REDACTED },
  { pattern: /[A-Za-z0-9+/=_-]{16,}/g, replace: (run) => (looksRandom(run) ? REDACTED : run) },
];

/**
 * One line that is safe to show from text another program wrote for humans (a credential helper's
 * stderr): the first non-empty line, control characters removed, anything that looks like a token,
 * password or key replaced with [redacted], cut to about 200 characters. Undefined when there is no
 * such line. Redaction runs before the cut, so a cut can never leave the start of a secret.
 */
export function summariseForeignText(text: string): string | undefined {
  const line = text
    .split(/\r?\n|\r/)
    .map((l) => l.replace(/\p{Cc}+/gu, ' ').trim())
    .find((l) => l !== '');
  if (line === undefined) return undefined;
  const redacted = RULES.reduce((out, rule) => out.replace(rule.pattern, rule.replace), line);
  return redacted.length > SUMMARY_LIMIT ? `${redacted.slice(0, SUMMARY_LIMIT - 1)}…` : redacted;
}

/**
 * A run of base64, base64url or hex characters that is a token rather than a word or a path: letters
 * mixed with digits, or too long to be a word. A path of plain segments (/run/user/1000/containers) is kept.
 */
function looksRandom(run: string): boolean {
  if (run.startsWith('/') && run.split('/').every((segment) => /^(?:[A-Za-z_-]*|\d*)$/.test(segment))) return false;
  return (/\d/.test(run) && /[A-Za-z]/.test(run)) || run.length >= 32;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
