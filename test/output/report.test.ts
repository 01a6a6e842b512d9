import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { renderJson } from '../../src/output/json.ts';
import { renderJunit } from '../../src/output/junit.ts';
import { createStyle } from '../../src/output/style.ts';
import { renderSummary, renderText } from '../../src/output/text.ts';
import { reportSchemaErrors, sampleReport } from '../support/report.ts';

const plain = createStyle(false, {});

describe('report', () => {
  it.each([
    [{}, 3],
    [{ strict: true }, 3],
    [{ aborted: true }, 130],
  ])('exit code for %j is %i', (options, code) => {
    expect(sampleReport(options).exitCode).toBe(code);
  });

  it('counts statuses', () => {
    expect(sampleReport().summary).toEqual({ total: 4, pass: 1, warn: 1, fail: 1, skip: 1 });
  });
});

describe('JSON output', () => {
  it('validates against schema/report.schema.json', () => {
    const parsed: unknown = JSON.parse(renderJson(sampleReport()));
    expect(reportSchemaErrors(parsed)).toEqual([]);
    expect(parsed).toMatchObject({
      schemaVersion: 1,
      checks: [{ id: 'ecr-uri', status: 'pass', remediation: null, durationMs: 3 }, {}, {}, {}],
    });
  });

  it('the schema rejects a fail without remediation', () => {
    const report: unknown = JSON.parse(renderJson(sampleReport()));
    const broken: unknown = JSON.parse(
      JSON.stringify(report).replace('"chmod 777 /kaniko\\nin the executor image"', 'null'),
    );
    expect(reportSchemaErrors(broken).join('\n')).toMatch(/remediation/);
  });
});

describe('JUnit output', () => {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => name === 'testcase' || name === 'property',
  });

  it('maps fail to <failure>, skip to <skipped>, warn to a property and system-out', () => {
    const xml: unknown = parser.parse(renderJunit(sampleReport()));
    expect(xml).toMatchObject({
      testsuites: { tests: '4', failures: '1', skipped: '1', testsuite: { name: 'preflight check' } },
    });
    const cases = ['testsuites', 'testsuite', 'testcase'];
    expect(xml).toHaveProperty([...cases, '0', 'name'], 'ecr-uri: stub ecr-uri');
    expect(xml).toHaveProperty([...cases, '0', 'system-out'], 'account 123456789012 & region eu-west-1\ntag: v1');
    expect(xml).not.toHaveProperty([...cases, '0', 'failure']);
    expect(xml).toHaveProperty([...cases, '1', 'properties', 'property', '0'], { name: 'status', value: 'warn' });
    expect(xml).toHaveProperty(
      [...cases, '1', 'system-out'],
      'WARN: config.json is group-readable\nchmod 600 "/tmp/.docker/config.json"',
    );
    expect(xml).not.toHaveProperty([...cases, '1', 'failure']);
    expect(xml).toHaveProperty([...cases, '2', 'failure'], {
      message: '/kaniko is mode 755 <not 777>',
      type: 'fail',
      '#text': 'chmod 777 /kaniko\nin the executor image',
    });
    expect(xml).toHaveProperty([...cases, '3', 'skipped'], { message: 'no ServiceAccount given' });
  });
});

describe('text output', () => {
  it('prints a summary and a remediation block for each warn and fail, not for pass or skip', () => {
    const text = renderSummary(sampleReport(), plain);
    expect(text).toContain('1 passed, 1 warned, 1 failed, 1 skipped in 1s');
    expect(text).toContain(
      'WARN docker-config: config.json is group-readable\n  → chmod 600 "/tmp/.docker/config.json"',
    );
    expect(text).toContain(
      'FAIL kaniko-dir: /kaniko is mode 755 <not 777>\n  → chmod 777 /kaniko\n    in the executor image',
    );
    expect(text).not.toContain('no ServiceAccount given');
  });

  it('has no escape codes without colour, and one line per check in the full report', () => {
    const text = renderText(sampleReport(), plain);
    expect(text).not.toMatch(/\u001b/);
    expect(text.split('\n').slice(0, 4)).toEqual([
      'PASS  ecr-uri  account 123456789012 & region eu-west-1',
      'WARN  docker-config  config.json is group-readable',
      'FAIL  kaniko-dir  /kaniko is mode 755 <not 777>',
      'SKIP  irsa  no ServiceAccount given',
    ]);
  });

  it('says when --strict turns warnings into a failing run', () => {
    expect(renderSummary(sampleReport({ strict: true }), plain)).not.toContain('because of --strict');
  });
});
