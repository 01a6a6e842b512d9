import * as v from 'valibot';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildReport, type Report } from '../../src/runner/report.ts';
import type { CheckOutcome } from '../../src/runner/run.ts';
import { fail, pass, skip, warn } from '../../src/plugin.ts';
import { stubCheck } from './checks.ts';

/** One outcome of each status, with text that needs escaping in XML. */
export function sampleOutcomes(): CheckOutcome[] {
  return [
    {
      check: stubCheck('ecr-uri', pass('ECR_URI ok')),
      result: pass('account 123456789012 & region eu-west-1', { details: ['tag: v1'] }),
      durationMs: 3,
    },
    {
      check: stubCheck('docker-config', pass('x')),
      result: warn('config.json is group-readable', { remediation: 'chmod 600 "/tmp/.docker/config.json"' }),
      durationMs: 5,
    },
    {
      check: stubCheck('kaniko-dir', pass('x')),
      result: fail('/kaniko is mode 755 <not 777>', { remediation: 'chmod 777 /kaniko\nin the executor image' }),
      durationMs: 7,
    },
    { check: stubCheck('irsa', pass('x')), result: skip('no ServiceAccount given'), durationMs: 0 },
  ];
}

export function sampleReport(options: { strict?: boolean; aborted?: boolean } = {}): Report {
  const outcomes = sampleOutcomes();
  return buildReport({
    run: { outcomes, aborted: options.aborted ?? false },
    origins: new Map(outcomes.map((o) => [o.check, 'built-in'])),
    version: '0.1.0',
    startedAt: new Date('2026-11-23T12:00:00Z'),
    durationMs: 1234,
    scope: 'laptop',
    strict: options.strict ?? false,
  });
}

/** Validate a parsed JSON report against the shipped schema; returns the errors (empty when valid). */
export function reportSchemaErrors(value: unknown): string[] {
  const schema: unknown = JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8'));
  const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: false });
  if (typeof schema !== 'object' || schema === null) throw new Error('schema is not an object');
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

const reportChecksSchema = v.object({
  checks: v.array(
    v.object({
      id: v.string(),
      status: v.string(),
      message: v.string(),
      remediation: v.nullable(v.string()),
      details: v.array(v.string()),
    }),
  ),
});

/** The checks of a JSON report printed by the CLI, typed, for assertions on single fields. */
export function reportChecks(stdout: string): v.InferOutput<typeof reportChecksSchema>['checks'] {
  return v.parse(reportChecksSchema, JSON.parse(stdout)).checks;
}
