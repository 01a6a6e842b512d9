import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { pass } from '../../src/plugin.ts';
import { parseIdList, selectChecks } from '../../src/runner/select.ts';
import { stubCheck } from '../support/checks.ts';

const checks = ['ecr-uri', 'docker-config', 'kaniko-dir'].map((id) => stubCheck(id, pass('ok')));

describe('selectChecks', () => {
  it.each([
    [{ skip: [] }, ['ecr-uri', 'docker-config', 'kaniko-dir']],
    [{ only: ['kaniko-dir', 'ecr-uri'], skip: [] }, ['ecr-uri', 'kaniko-dir']],
    [{ skip: ['docker-config'] }, ['ecr-uri', 'kaniko-dir']],
    [{ only: ['ecr-uri', 'docker-config'], skip: ['ecr-uri'] }, ['docker-config']],
  ])('%j selects %j in registry order', (selection, expected) => {
    expect(selectChecks(checks, selection).map((c) => c.id)).toEqual(expected);
  });

  it.each([
    [{ only: ['ecr-url'], skip: [] }, '--only: unknown check id ecr-url'],
    [{ skip: ['kaniko', 'dockerconfig'] }, '--skip: unknown check ids kaniko, dockerconfig'],
  ])('rejects unknown ids in %j and lists the valid ones', (selection, message) => {
    const error = (() => {
      try {
        selectChecks(checks, selection);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ message, exitCode: 2, hint: 'valid ids: ecr-uri, docker-config, kaniko-dir' });
  });
});

describe('parseIdList', () => {
  it.each([
    ['a,b', ['a', 'b']],
    [' a , b ,', ['a', 'b']],
    ['', []],
  ])('%j → %j', (input, expected) => {
    expect(parseIdList(input)).toEqual(expected);
  });
});
