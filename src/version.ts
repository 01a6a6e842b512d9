import { readFileSync } from 'node:fs';

/** The npm package: scoped, because the bare name `preflight` on the public registry is someone else's. */
const PACKAGE_NAME = '@preflight-dev/preflight';

interface PackageFacts {
  readonly version: string;
  /** The repository's web address, from package.json `repository.url` (no `git+`, no `.git`). */
  readonly repository: string | undefined;
}

let facts: PackageFacts | undefined;

/**
 * The package version. Read lazily from package.json, which sits two levels up from dist/src and
 * one level up from src, so both the built CLI and the sources find it.
 */
export function packageVersion(): string {
  return packageFacts().version;
}

/**
 * The repository's web address, e.g. `https://github.com/preflight-dev/preflight`: package.json is
 * its one source (npm shows it, `npm run docs` writes it into the README and the manifests).
 * Undefined only when package.json cannot be found or names no repository.
 */
export function packageRepository(): string | undefined {
  return packageFacts().repository;
}

/** `git+https://host/owner/name.git` → `https://host/owner/name`. */
export function repositoryWebUrl(url: string): string {
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

function packageFacts(): PackageFacts {
  facts ??= readPackageFacts();
  return facts;
}

function readPackageFacts(): PackageFacts {
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
        return { version: String(parsed.version), repository: repositoryOf(parsed) };
      }
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
    }
  }
  return { version: '0.0.0-unknown', repository: undefined };
}

function repositoryOf(pkg: object): string | undefined {
  const field = 'repository' in pkg ? pkg.repository : undefined;
  const url =
    typeof field === 'string' ? field : typeof field === 'object' && field !== null && 'url' in field ? field.url : '';
  return typeof url === 'string' && url !== '' ? repositoryWebUrl(url) : undefined;
}
