// The project's names, each from one place, package.json: the version (`version`), the repository
// (`repository.url`) and the container image (`config.image`, tagged with the version). The files that
// cannot read package.json (the README, the deploy/ manifests, the Containerfile, the report schema's
// $id) hold copies: `npm run docs` rewrites them, and test/deploy/project-refs.test.ts fails on a stale one.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as v from 'valibot';
import { repositoryWebUrl } from '../src/version.ts';

export interface ProjectRefs {
  /** `@preflight-dev/preflight` */
  readonly name: string;
  readonly version: string;
  /** The image name without a tag, e.g. `ghcr.io/preflight-dev/preflight`. */
  readonly image: string;
  /** The repository's web address, e.g. `https://github.com/preflight-dev/preflight`. */
  readonly repository: string;
}

export type MentionKind = 'image' | 'repository' | 'version' | 'tarball';

export interface Mention {
  readonly kind: MentionKind;
  /** 1-based line. */
  readonly line: number;
  readonly index: number;
  readonly text: string;
  /** What it must say. */
  readonly expected: string;
}

const packageSchema = v.object({
  name: v.string(),
  version: v.string(),
  repository: v.object({ url: v.string() }),
  config: v.object({ image: v.pipe(v.string(), v.regex(/^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9._-]+)+$/)) }),
});

export function readProjectRefs(root: string): ProjectRefs {
  const pkg = v.parse(packageSchema, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')));
  return {
    name: pkg.name,
    version: pkg.version,
    image: pkg.config.image,
    repository: repositoryWebUrl(pkg.repository.url),
  };
}

/** The files that carry copies, relative to the root: README.md, Containerfile, schema/*.json, deploy/**.yaml. */
export function syncedFiles(root: string): string[] {
  const walk = (dir: string, keep: RegExp): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path, keep);
      return keep.test(entry.name) ? [relative(root, join(root, path))] : [];
    });
  return ['README.md', 'Containerfile', ...walk('schema', /\.json$/), ...walk('deploy', /\.ya?ml$/)].sort();
}

// Architecture suffixes a per-platform tag may carry after the version (`0.1.0-arm64`).
const ARCH_SUFFIX = /-(?:amd64|arm64|ppc64le|s390x)$/;

interface Rule {
  readonly kind: MentionKind;
  readonly pattern: RegExp;
  /** What the match must read, or undefined when it is not a mention after all. */
  readonly expected: (match: RegExpMatchArray, refs: ProjectRefs) => string | undefined;
}

const RULES: readonly Rule[] = [
  {
    // A hosted image whose last path segment is `preflight` (ghcr.io/…/preflight:0.1.0, quay.io/team/preflight),
    // or the bare `preflight:<version>`. GitHub addresses are the repository, not an image.
    kind: 'image',
    pattern:
      /(?<![\w.-])((?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:\/[\w.-]+)*\/preflight|preflight(?=:\d))(?::(\w[\w.-]*))?(?![\w/-])/g,
    expected: (m, refs) => {
      const [, name = '', tag] = m;
      if (/^github\.com\//.test(name)) return undefined;
      if (tag === undefined) return refs.image;
      return `${refs.image}:${refs.version}${ARCH_SUFFIX.exec(tag)?.[0] ?? ''}`;
    },
  },
  {
    kind: 'repository',
    pattern: /(git\+)?https:\/\/github\.com\/[\w.-]+\/preflight(\.git)?(?![\w-])/g,
    expected: (m, refs) => `${m[1] ?? ''}${refs.repository}${m[2] ?? ''}`,
  },
  {
    kind: 'version',
    pattern: /(app\.kubernetes\.io\/version:\s*"?|^ARG VERSION=)([\w.-]+)/gm,
    expected: (m, refs) => `${m[1] ?? ''}${refs.version}`,
  },
  {
    // What `npm pack` names the tarball: the package name without @ and /, then the version.
    kind: 'tarball',
    pattern: /(?<![\w.-])([a-z0-9][\w.-]*?)-(\d+\.\d+\.\d+[\w.-]*?)\.tgz\b/g,
    expected: (m, refs) => {
      const stem = refs.name.replace(/^@/, '').replace('/', '-');
      return m[1] === stem ? `${stem}-${refs.version}.tgz` : undefined;
    },
  },
];

/** Every mention of the image, the repository and the version in `text`, with what it must read. */
export function mentions(text: string, refs: ProjectRefs): Mention[] {
  const found: Mention[] = [];
  for (const rule of RULES) {
    for (const match of text.matchAll(rule.pattern)) {
      const expected = rule.expected(match, refs);
      if (expected === undefined) continue;
      const line = text.slice(0, match.index).split('\n').length;
      found.push({ kind: rule.kind, line, index: match.index, text: match[0], expected });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

/** `text` with every mention rewritten to what package.json says. */
export function syncRefs(text: string, refs: ProjectRefs): string {
  let out = text;
  for (const m of mentions(text, refs).reverse()) {
    out = out.slice(0, m.index) + m.expected + out.slice(m.index + m.text.length);
  }
  return out;
}
