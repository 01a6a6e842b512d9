import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/diagnose/catalogue.ts';
import { classify, diagnose } from '../../src/diagnose/match.ts';

const REQUIRED = [
  'ecr-permission-denied',
  'ecr-token-expired',
  'exec-format-error',
  'docker-config-permission',
  'no-aws-credentials',
  'kaniko-needs-root',
  'kaniko-not-authorized',
  'ecr-repository-missing',
  'ephemeral-storage',
  'oom-killed',
  'security-context-misplaced',
  'ecr-layer-part-too-small',
  'registry-authentication-required',
  'ecr-layer-limit',
];

describe('the diagnose catalogue', () => {
  it('covers every failure the pipeline docs promise, each with cause, fix and at least one example', () => {
    expect(CATALOGUE.map((e) => e.id).sort()).toEqual([...REQUIRED].sort());
    for (const entry of CATALOGUE) {
      expect(entry.id).toMatch(/^[a-z][a-z0-9-]+$/);
      expect(entry.examples.length, entry.id).toBeGreaterThan(0);
      expect(entry.cause.length, entry.id).toBeGreaterThan(20);
      expect(entry.fix.length, entry.id).toBeGreaterThan(20);
    }
    expect(new Set(CATALOGUE.map((e) => e.id)).size).toBe(CATALOGUE.length);
  });

  it.each(CATALOGUE.flatMap((entry) => entry.examples.map((example) => [entry.id, example] as const)))(
    '%s is recognised in its example',
    async (id, example) => {
      const { findings } = await diagnose(
        Readable.from([`INFO[0001] Retrieving image manifest busybox\n${example}\nINFO[0002] done\n`]),
      );
      expect(findings.map((f) => f.id)).toEqual([id]);
      expect(findings[0]?.line).toBeGreaterThan(1);
    },
  );

  it('does not recognise ordinary log lines', () => {
    for (const line of [
      'INFO[0004] Built cross stage deps: map[]',
      'Pushed 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model@sha256:abc',
      'exit code 0',
      'Exit Code: 1370',
      'denied access to the cafeteria',
    ]) {
      expect(classify(line), line).toBeUndefined();
    }
  });

  it('orders findings by first appearance, counts repeats, and ignores colour codes', async () => {
    const log = [
      '\u001b[31mexec /bin/sh: exec format error\u001b[0m',
      'OOMKilled',
      'exec /bin/sh: exec format error',
      '',
    ].join('\n');
    const { findings, lines } = await diagnose(Readable.from([log]));
    expect(lines).toBe(3);
    expect(findings.map((f) => [f.id, f.line, f.count])).toEqual([
      ['exec-format-error', 1, 2],
      ['oom-killed', 2, 1],
    ]);
    expect(findings[0]?.evidence).toBe('exec /bin/sh: exec format error');
  });
});

describe('the README troubleshooting table', () => {
  it('is generated from the catalogue and not stale (run npm run docs)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderTroubleshooting, replaceTroubleshooting } = await import('../../scripts/catalogue.ts');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(replaceTroubleshooting(readme, renderTroubleshooting())).toBe(readme);
    for (const entry of CATALOGUE) expect(readme).toContain(`| \`${entry.id}\`:`);
  });
});
