import { readFileSync } from 'node:fs';

/** The npm package: scoped, because the bare name `preflight` on the public registry is someone else's. */
const PACKAGE_NAME = '@preflight-dev/preflight';

/**
 * The package version. Read lazily from package.json, which sits two levels up from dist/src and
 * one level up from src, so both the built CLI and the sources find it.
 */
export function packageVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8'));
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'name' in parsed &&
        parsed.name === PACKAGE_NAME &&
        'version' in parsed
      ) {
        return String(parsed.version);
      }
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
    }
  }
  return '0.0.0-unknown';
}
