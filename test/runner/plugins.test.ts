import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { pass } from '../../src/plugin.ts';
import { loadChecks } from '../../src/runner/plugins.ts';
import { stubCheck } from '../support/checks.ts';
import { testdir } from '../support/testdir.ts';

const builtin = stubCheck('ecr-uri', pass('ok'));
const builtins = [builtin];
const plugin = (id: string, extra = ''): string =>
  `export default { id: '${id}', title: 'team check', scope: 'any', inspects: 'team things', ${extra} async run() { return { status: 'pass', message: 'team ok' }; } };\n`;

async function loadError(files: Record<string, string>, names: string[]): Promise<unknown> {
  const dir = await testdir(files);
  try {
    await loadChecks(
      builtins,
      names.map((n) => join(dir, n)),
    );
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('loadChecks', () => {
  it('appends plugin checks after the built-ins and records their origin', async () => {
    const dir = await testdir({
      'team.mjs': plugin('team-check'),
      'many.mjs': `export default [${['a-one', 'a-two'].map((id) => plugin(id).replace('export default ', '').replace(';\n', '')).join(',')}];\n`,
    });
    const set = await loadChecks(builtins, [join(dir, 'team.mjs'), join(dir, 'many.mjs')]);
    expect(set.checks.map((c) => c.id)).toEqual(['ecr-uri', 'team-check', 'a-one', 'a-two']);
    expect(set.origins.get(builtin)).toBe('built-in');
    const team = set.checks.find((c) => c.id === 'team-check');
    expect(team && set.origins.get(team)).toMatch(/^plugin .*team\.mjs$/);
  });

  it.each([
    ['a module that fails to import', { 'p.mjs': 'export default {;' }, /plugin .*p\.mjs: failed to import/],
    ['a missing file', {}, /plugin .*p\.mjs: failed to import/],
    ['no default export', { 'p.mjs': 'export const x = 1;\n' }, /plugin .*p\.mjs: not a check: no default export/],
    [
      'a bad id',
      { 'p.mjs': plugin('Team_Check') },
      /not a check: "id" must be a kebab-case string \(got "Team_Check"\)/,
    ],
    [
      'a bad scope',
      { 'p.mjs': plugin('team').replace("'any'", "'cluster'") },
      /"scope" must be laptop, pod or any \(got "cluster"\)/,
    ],
    [
      'no run',
      { 'p.mjs': "export default { id: 'x', title: 't', scope: 'any', inspects: 'i' };\n" },
      /"run" must be an async function/,
    ],
    ['a non-function appliesTo', { 'p.mjs': plugin('team', 'appliesTo: true,') }, /"appliesTo" must be a function/],
    [
      'an id a built-in has',
      { 'p.mjs': plugin('ecr-uri') },
      /plugin .*p\.mjs: check id "ecr-uri" is already defined by built-in/,
    ],
  ])('rejects %s with a config error naming the plugin file', async (_name, files, message) => {
    const error = await loadError(files, ['p.mjs']);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toHaveProperty('exitCode', 2);
    expect(error instanceof Error && error.message).toMatch(message);
  });

  it('rejects the same id from two plugins, naming both', async () => {
    const error = await loadError({ 'a.mjs': plugin('team'), 'b.mjs': plugin('team') }, ['a.mjs', 'b.mjs']);
    expect(error instanceof Error && error.message).toMatch(
      /plugin .*b\.mjs: check id "team" is already defined by plugin .*a\.mjs/,
    );
  });
});
