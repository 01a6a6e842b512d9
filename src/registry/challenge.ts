/** A parsed `WWW-Authenticate` challenge (RFC 7235): scheme plus auth-params. */
export interface Challenge {
  /** Lowercased: `basic`, `bearer`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parse `Bearer realm="https://auth",service="registry",scope="repository:a:pull"`. Values may
 * contain commas inside quotes (scope lists do), so this tokenises instead of splitting.
 */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = match[2] ?? '';
  for (let m = re.exec(rest); m !== null && m[0] !== ''; m = re.exec(rest)) {
    const key = m[1]?.toLowerCase();
    if (key !== undefined) params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}
