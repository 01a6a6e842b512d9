import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.ts';
import { testdir } from '../support/testdir.ts';

/** The first js block of the README's "Writing a check (plugins)": the test runs the docs, so they cannot drift. */
async function readmePlugin(): Promise<{ name: string; source: string }> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing a check (plugins)'));
  const block = /```js\n(\/\/ (\S+)\n[\s\S]*?)```/.exec(section);
  if (block?.[1] === undefined || block[2] === undefined) throw new Error('README: no js block in "Writing a check"');
  return { name: block[2], source: block[1] };
}

/**
 * A folder under the system temp dir, as a team's own repository would be: outside the clone, and
 * with no node_modules on the way up, so nothing but preflight itself can resolve `preflight`.
 */
async function outsideDir(files: Record<string, string>): Promise<string> {
  const dir = await testdir(files);
  expect(relative(REPO_ROOT, dir).startsWith('..')).toBe(true);
  expect(dir.startsWith(tmpdir() + sep)).toBe(true);
  for (let up = dir; up !== dirname(up); up = dirname(up)) expect(existsSync(join(up, 'node_modules'))).toBe(false);
  return dir;
}

// A plain object, so that the output test does not depend on how 'preflight' resolves.
const NOISY = `console.log('stray import');
export default { id: 'team-noisy', title: 'noisy', scope: 'any', inspects: 'nothing',
  async run() {
    console.log('stray console.log');
    console.info('stray console.info');
    process.stdout.write('stray process.stdout.write\\n');
    return { status: 'fail', message: 'it talks', remediation: 'stop talking' };
  } };
`;

describe('a plugin outside the clone', () => {
  it('written exactly as the README shows, imports preflight and runs (issue 14)', async () => {
    const { name, source } = await readmePlugin();
    const dir = await outsideDir({ [name]: source });
    const text = await runCli(['check', '--plugin', name, '--only', 'team-quota', '--namespace', 'team'], {
      cwd: dir,
    });
    expect(text.stderr).not.toMatch(/Cannot find package/);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('FAIL  team-quota  quota allows 20 GiB of ephemeral storage');
    expect(text.stdout).toContain('oc patch resourcequota compute -n team');
    // And its appliesTo: without a namespace it skips with its own reason.
    const skipped = await runCli(['check', '--plugin', join(dir, name), '--only', 'team-quota', '-o', 'json'], {
      cwd: REPO_ROOT,
    });
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      checks: [{ id: 'team-quota', status: 'skip', message: 'no namespace configured (DS_PROJECT)' }],
    });
  });

  it("gets the running preflight's public API, in its helpers too: the one module the built-ins use", async () => {
    const api = pathToFileURL(join(REPO_ROOT, 'dist/src/plugin.js')).href;
    // The package's own name too, so that a rename (a scoped name) keeps working from any folder.
    const pkg: unknown = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
    const name = typeof pkg === 'object' && pkg !== null && 'name' in pkg ? String(pkg.name) : '';
    const dir = await outsideDir({
      'where.mjs': `import { defineCheck, pass } from 'preflight';
import * as bare from 'preflight';
import * as builtIn from '${api}';
import { helperSees } from './lib/helper.mjs';
export default defineCheck({ id: 'team-where', title: 'where', scope: 'any', inspects: 'nothing',
  run: async () => pass(import.meta.resolve('preflight'), { details: [String(bare === builtIn), ...helperSees] }) });
`,
      'lib/helper.mjs': `import * as bare from 'preflight';
import * as byName from '${name}';
export const helperSees = [import.meta.resolve('preflight'), import.meta.resolve('${name}'), String(bare === byName)];
`,
    });
    const result = await runCli(['check', '--plugin', 'where.mjs', '--only', 'team-where', '-o', 'json'], {
      cwd: dir,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      checks: [{ id: 'team-where', message: api, details: ['true', api, api, 'true'] }],
    });
  });

  it('never loads an unrelated package named preflight that sits next to the plugin', async () => {
    // The name is taken on the public registry: a team's node_modules may hold that package.
    const dir = await testdir({
      'node_modules/preflight/package.json': '{ "name": "preflight", "type": "module", "exports": "./index.js" }\n',
      'node_modules/preflight/index.js': "throw new Error('the unrelated preflight package was loaded');\n",
      'team.mjs': `import { defineCheck, pass } from 'preflight';
export default defineCheck({ id: 'team-ok', title: 'ok', scope: 'any', inspects: 'nothing', run: async () => pass('ours') });
`,
    });
    const result = await runCli(['check', '--plugin', 'team.mjs', '--only', 'team-ok'], { cwd: dir });
    expect(result.stderr).not.toContain('unrelated');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PASS  team-ok  ours');
  });

  it('a plain object returning fail without a remediation fails that check, naming it and the file', async () => {
    const dir = await outsideDir({
      'lazy.mjs': `export default { id: 'team-lazy', title: 'lazy', scope: 'any', inspects: 'nothing',
  run: async () => ({ status: 'fail', message: 'something is off' }) };
`,
    });
    const result = await runCli(['check', '--plugin', 'lazy.mjs', '--only', 'team-lazy'], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/FAIL {2}team-lazy {2}.*team-lazy.*plugin lazy\.mjs.*"remediation"/);
    expect(result.stdout + result.stderr).not.toMatch(/This is a bug|internal error/);
  });
});

describe('plugin output never reaches a machine-readable stdout', () => {
  it.each([
    ['check -o json', ['check', '--plugin', 'noisy.mjs', '--only', 'team-noisy', '-o', 'json']],
    ['check --list -o json', ['check', '--list', '--plugin', 'noisy.mjs', '-o', 'json']],
    ['run -o json', ['run', '--config', 'preflight.yaml', '--only', 'team-noisy', '-o', 'json']],
  ])('%s: stdout is one JSON document, the plugin lines are on stderr', async (name, args) => {
    const dir = await outsideDir({
      'noisy.mjs': NOISY,
      'preflight.yaml': 'plugins: [noisy.mjs]\n',
      'model/w.bin': 'w',
    });
    const runArgs = ['--model-dir', 'model', '--image', '127.0.0.1:9/team/noisy:v1'];
    const result = await runCli(name.startsWith('run') ? [...args, ...runArgs] : args, { cwd: dir });
    expect(result.code).toBe(name.includes('--list') ? 0 : 3);
    const document: unknown = JSON.parse(result.stdout);
    expect(document).toHaveProperty('schemaVersion', 1);
    expect(result.stdout).not.toContain('stray');
    expect(result.stderr).toContain('stray import\n');
    if (!name.includes('--list'))
      for (const line of ['stray console.log', 'stray console.info', 'stray process.stdout.write'])
        expect(result.stderr).toContain(`${line}\n`);
  });

  it('run (text): stdout stays the pushed reference alone, so the plugin lines go to stderr', async () => {
    const dir = await outsideDir({
      'noisy.mjs': NOISY,
      'preflight.yaml': 'plugins: [noisy.mjs]\n',
      'model/w.bin': 'w',
    });
    const args = ['run', '--config', 'preflight.yaml', '--only', 'team-noisy'];
    const result = await runCli([...args, '--model-dir', 'model', '--image', '127.0.0.1:9/team/noisy:v1'], {
      cwd: dir,
    });
    // The check fails, so nothing is pushed and stdout (what `$(preflight run …)` captures) is empty.
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('stray console.log\n');
  });

  it('check -o junit: stdout is one XML document', async () => {
    const dir = await outsideDir({ 'noisy.mjs': NOISY });
    const result = await runCli(['check', '--plugin', 'noisy.mjs', '--only', 'team-noisy', '-o', 'junit'], {
      cwd: dir,
    });
    expect(result.code).toBe(3);
    expect(result.stdout.startsWith('<?xml')).toBe(true);
    expect(result.stdout).not.toContain('stray');
    expect(new XMLParser().parse(result.stdout)).toHaveProperty('testsuites');
    expect(result.stderr).toContain('stray console.log\n');
  });
});
