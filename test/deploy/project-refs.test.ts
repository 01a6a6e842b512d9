import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinChecks } from '../../checks/index.ts';
import { mentions, readProjectRefs, syncedFiles, syncRefs, type ProjectRefs } from '../../scripts/project-refs.ts';
import { docsUrl } from '../../src/plugin.ts';
import { REPO_ROOT, runCli } from '../support/cli.ts';

/**
 * Issue 14: one image name and one repository URL. package.json is the source (`config.image`,
 * `version`, `repository.url`); every copy in the README, deploy/, the Containerfile and the schema
 * must read the same, and the report's docsUrl is derived from it at run time.
 */
const refs = readProjectRefs(REPO_ROOT);
const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');

describe('the project references (issue 14)', () => {
  it('package.json names the image ghcr.io/preflight-dev/preflight and the repository it lives in', () => {
    expect(refs.image).toBe('ghcr.io/preflight-dev/preflight');
    expect(refs.repository).toBe('https://github.com/preflight-dev/preflight');
  });

  it.each(syncedFiles(REPO_ROOT))(
    '%s: every mention of the image, repository and version matches package.json (npm run docs)',
    (file) => {
      const stale = mentions(read(file), refs)
        .filter((m) => m.text !== m.expected)
        .map((m) => `${file}:${m.line}: ${m.text} should be ${m.expected}`);
      expect(stale).toEqual([]);
    },
  );

  it.each([
    ['README.md', `${refs.image}:${refs.version}`],
    ['deploy/k8s/cronjob.yaml', `${refs.image}:${refs.version}`],
    ['deploy/kfp/component.yaml', `${refs.image}:${refs.version}`],
    ['deploy/tekton/task.yaml', `${refs.image}:${refs.version}`],
    ['README.md', `${refs.repository}.git`],
    ['Containerfile', refs.repository],
  ])('%s names %s', (file, expected) => {
    expect(mentions(read(file), refs).map((m) => m.text)).toContain(expected);
  });

  it('the report links each check to its README section, under package.json’s repository', () => {
    const readme = read('README.md');
    for (const check of builtinChecks) {
      expect(docsUrl(check.id)).toBe(`${refs.repository}/blob/main/README.md#check-${check.id}`);
      expect(readme).toContain(`<a id="check-${check.id}"></a>`);
    }
  });
});

describe('the mention rules', () => {
  const sample: ProjectRefs = {
    name: '@o/p',
    version: '2.0.0',
    image: 'ghcr.io/o/preflight',
    repository: 'https://github.com/o/preflight',
  };
  it.each([
    ['podman build -t quay.io/team/preflight:0.1.0 .', 'podman build -t ghcr.io/o/preflight:2.0.0 .'],
    ['image: ghcr.io/o/preflight:1.9.0', 'image: ghcr.io/o/preflight:2.0.0'],
    ['-t preflight:0.1.0-arm64 -f x', '-t ghcr.io/o/preflight:2.0.0-arm64 -f x'],
    ['docker://registry.example.com:5000/x/y/preflight', 'docker://ghcr.io/o/preflight'],
    ['git clone https://github.com/old/preflight.git', 'git clone https://github.com/o/preflight.git'],
    [
      '"$id": "https://github.com/old/preflight/schema/report.schema.json"',
      '"$id": "https://github.com/o/preflight/schema/report.schema.json"',
    ],
    ['    app.kubernetes.io/version: "1.0.0"', '    app.kubernetes.io/version: "2.0.0"'],
    ['ARG VERSION=1.0.0', 'ARG VERSION=2.0.0'],
    ['npm install -g ./o-p-1.0.0.tgz', 'npm install -g ./o-p-2.0.0.tgz'],
  ])('rewrites %s', (before, after) => {
    expect(mentions(before, sample)).toHaveLength(1);
    expect(syncRefs(before, sample)).toBe(after);
    expect(syncRefs(after, sample)).toBe(after);
  });

  it.each([
    'preflight check --only ecr-uri',
    'preflight: the pipeline step image',
    'image: quay.io/team/app:v1',
    'https://github.com/preflight-dev/preflight-extras',
    'ghcr.io/o/preflight-dev',
    'npm install -g ./other-1.0.0.tgz',
  ])('leaves %s alone', (text) => {
    expect(mentions(text, sample)).toEqual([]);
  });
});

describe('docsUrl in a real report', () => {
  it('the built CLI reports package.json’s repository in every docsUrl', async () => {
    const result = await runCli(['check', '--only', 'ecr-uri', '-o', 'json'], {
      env: { ECR_URI: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/mistral:v1', AWS_REGION: 'eu-west-1' },
    });
    expect(result.code).toBe(0);
    const report: unknown = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      checks: [{ id: 'ecr-uri', docsUrl: `${refs.repository}/blob/main/README.md#check-ecr-uri` }],
    });
  });
});
