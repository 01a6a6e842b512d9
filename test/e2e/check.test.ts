import { chmod, lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { builtinChecks } from '../../checks/index.ts';
import { CLI, REPO_ROOT, runCli } from '../support/cli.ts';
import { runInPty } from '../support/pty.ts';
import { reportSchemaErrors } from '../support/report.ts';
import { testdir } from '../support/testdir.ts';

/**
 * A folder with plugin files that import the public API by package name, exactly as a team's
 * plugin would once preflight is installed next to it.
 */
async function pluginDir(files: Record<string, string>): Promise<string> {
  const dir = await testdir(files);
  await mkdir(join(dir, 'node_modules'));
  await symlink(REPO_ROOT, join(dir, 'node_modules', 'preflight'));
  return dir;
}

const PLUGINS = {
  'ok.mjs': `import { defineCheck, pass } from 'preflight';
export default defineCheck({ id: 'team-ok', title: 'team ok', scope: 'any', inspects: 'nothing', run: async () => pass('all good') });
`,
  'warns.mjs': `import { defineCheck, warn } from 'preflight';
export default defineCheck({ id: 'team-warns', title: 'team warns', scope: 'any', inspects: 'nothing',
  run: async () => warn('cache is cold', { remediation: 'run make warm' }) });
`,
  'fails.mjs': `import { defineCheck, fail } from 'preflight';
export default defineCheck({ id: 'team-fails', title: 'team fails', scope: 'any', inspects: 'nothing',
  run: async () => fail('quota exceeded', { remediation: 'oc patch resourcequota compute -p ...' }) });
`,
  'hangs.mjs': `import { defineCheck } from 'preflight';
export default defineCheck({ id: 'team-hangs', title: 'team hangs', scope: 'any', inspects: 'nothing',
  run: () => new Promise(() => { setInterval(() => {}, 1000); }) });
`,
};

const pluginArgs = (...names: string[]): string[] => names.flatMap((n) => ['--plugin', n]);

describe('preflight CLI', () => {
  it('documents every command and flag with its env var and default', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/check \[options\]/);
    const help = await runCli(['check', '--help']);
    expect(help.code).toBe(0);
    // Commander wraps at 80 columns without a TTY; compare with the wrapping undone.
    const text = help.stdout.replace(/\s+/g, ' ');
    for (const option of [
      '--ecr-uri',
      'env: ECR_URI',
      'env: DS_PROJECT',
      'env: AWS_REGION',
      'env: AWS_PROFILE',
      'env: ROLE_ARN',
      'env: DOCKER_CONFIG',
      '--timeout',
      'default: "30s"',
      '--output-file',
      '--strict',
      '--scope',
      '--plugin',
      '--only',
      '--skip',
      '--list',
    ]) {
      expect(text).toContain(option);
    }
  });

  it.each([
    [['check', '--only', 'no-such-check'], /error: --only: unknown check id no-such-check\nhint: valid ids: /],
    [['check', '--skip', 'nope'], /error: --skip: unknown check id nope/],
    [['check', '--timeout', 'soon'], /error: --timeout: must be a duration/],
    [['check', '--output', 'xml'], /error: option .* argument 'xml' is invalid/],
    [['check', '--bogus'], /error: unknown option '--bogus'/],
    [['nope'], /error: unknown command 'nope'/],
  ])('%j is a usage error (exit 2) with a clear message', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('rejects an invalid preflight.yaml naming the file and key', async () => {
    const dir = await testdir({ 'preflight.yaml': 'builder: kaniko\nconcurency: 3\n' });
    const result = await runCli(['check'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: .*preflight\.yaml: unknown key "concurency"/);
  });

  it('rejects a plugin that fails to import, naming it', async () => {
    const dir = await pluginDir({ 'broken.mjs': 'export default {;\n' });
    const result = await runCli(['check', '--plugin', 'broken.mjs'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: plugin broken\.mjs: failed to import/);
  });

  it.each([
    [['ok.mjs'], [], 0],
    [['ok.mjs', 'warns.mjs'], [], 0],
    [['ok.mjs', 'warns.mjs'], ['--strict'], 4],
    [['ok.mjs', 'warns.mjs', 'fails.mjs'], ['--strict'], 3],
    [['fails.mjs'], [], 3],
  ])('plugins %j with %j exit %i', async (plugins, flags, code) => {
    const dir = await pluginDir(PLUGINS);
    const only = plugins.map((p) => `team-${p.replace('.mjs', '')}`).join(',');
    const result = await runCli(['check', ...pluginArgs(...plugins), '--only', only, ...flags], { cwd: dir });
    expect(result.code).toBe(code);
  });

  it('prints plain lines without a TTY: no cursor movement, remediation after the summary', async () => {
    const dir = await pluginDir(PLUGINS);
    const result = await runCli(['check', ...pluginArgs('ok.mjs', 'fails.mjs'), '--only', 'team-ok,team-fails'], {
      cwd: dir,
    });
    expect(result.code).toBe(3);
    expect(result.stdout).not.toMatch(/[\r\u001b]/);
    expect(result.stdout).toContain('PASS  team-ok  all good');
    expect(result.stdout).toContain('FAIL  team-fails  quota exceeded');
    expect(result.stdout).toMatch(/1 passed, 0 warned, 1 failed, 0 skipped/);
    expect(result.stdout).toContain('FAIL team-fails: quota exceeded\n  → oc patch resourcequota compute -p ...');
  });

  it('writes JSON that validates against the schema', async () => {
    const dir = await pluginDir(PLUGINS);
    const result = await runCli(
      [
        'check',
        ...pluginArgs('ok.mjs', 'warns.mjs', 'fails.mjs'),
        '--only',
        'team-ok,team-warns,team-fails',
        '-o',
        'json',
      ],
      { cwd: dir },
    );
    expect(result.code).toBe(3);
    const report: unknown = JSON.parse(result.stdout);
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report).toMatchObject({
      exitCode: 3,
      summary: { pass: 1, warn: 1, fail: 1, skip: 0, total: 3 },
      checks: [
        { id: 'team-ok', status: 'pass', origin: 'plugin ok.mjs' },
        { id: 'team-warns', status: 'warn', remediation: 'run make warm' },
        { id: 'team-fails', status: 'fail', message: 'quota exceeded' },
      ],
    });
  });

  it('writes JUnit to --output-file and keeps the text view on stdout', async () => {
    const dir = await pluginDir(PLUGINS);
    const result = await runCli(
      [
        'check',
        ...pluginArgs('ok.mjs', 'fails.mjs'),
        '--only',
        'team-ok,team-fails',
        '-o',
        'junit',
        '--output-file',
        'report.xml',
      ],
      { cwd: dir },
    );
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('PASS  team-ok');
    const xml: unknown = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      await readFile(join(dir, 'report.xml'), 'utf8'),
    );
    expect(xml).toMatchObject({
      testsuites: {
        tests: '2',
        failures: '1',
        testsuite: { testcase: [{}, { failure: { message: 'quota exceeded' } }] },
      },
    });
  });

  it.each([
    ['000', 0o000],
    ['077', 0o077],
  ])(
    '--output-file is a private file (0600 under umask %s) and replaces a planted symlink without following it (issue 13, case 8)',
    async (_label, umask) => {
      const dir = await pluginDir(PLUGINS);
      await writeFile(join(dir, 'victim'), 'untouched');
      await symlink(join(dir, 'victim'), join(dir, 'report.json'));
      const result = await runCli(
        ['check', ...pluginArgs('ok.mjs'), '--only', 'team-ok', '-o', 'json', '--output-file', 'report.json'],
        { cwd: dir, umask },
      );
      expect(result.code).toBe(0);
      expect(await readFile(join(dir, 'victim'), 'utf8')).toBe('untouched');
      const written = await lstat(join(dir, 'report.json'));
      expect(written.isFile()).toBe(true);
      expect(written.mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))).toMatchObject({ exitCode: 0 });
    },
  );

  it('fails a hanging check with "timed out after 1s" and finishes the others', async () => {
    const dir = await pluginDir(PLUGINS);
    const result = await runCli(
      ['check', ...pluginArgs('ok.mjs', 'hangs.mjs'), '--only', 'team-ok,team-hangs', '--timeout', '1s', '-o', 'json'],
      { cwd: dir },
    );
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({
      checks: [
        { id: 'team-ok', status: 'pass' },
        { id: 'team-hangs', status: 'fail', message: 'timed out after 1s' },
      ],
    });
  });

  it('on Ctrl-C aborts the running checks, prints what finished and exits 130', async () => {
    const dir = await pluginDir(PLUGINS);
    let sent = false;
    const result = await runCli(
      [
        'check',
        ...pluginArgs('ok.mjs', 'hangs.mjs'),
        '--only',
        'team-ok,team-hangs',
        '--concurrency',
        '1',
        '--timeout',
        '10m',
      ],
      {
        cwd: dir,
        onStdout: (soFar, child) => {
          if (!sent && soFar.includes('PASS  team-ok')) sent = child.kill('SIGINT');
        },
      },
    );
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('SKIP  team-hangs  interrupted: interrupted by SIGINT');
    expect(result.stdout).toMatch(/1 passed, 0 warned, 0 failed, 1 skipped in .* \(interrupted\)/);
  });

  it('lists checks with --list, including plugins', async () => {
    const dir = await pluginDir(PLUGINS);
    const result = await runCli(['check', '--list', ...pluginArgs('ok.mjs'), '-o', 'json'], { cwd: dir });
    expect(result.code).toBe(0);
    const listed: unknown = JSON.parse(result.stdout);
    // Plugins come after the built-ins.
    expect(listed).toHaveProperty(['checks', String(builtinChecks.length)], {
      id: 'team-ok',
      title: 'team ok',
      scope: 'any',
      inspects: 'nothing',
      origin: 'plugin ok.mjs',
    });
  });
});

describe('on a terminal', () => {
  // A real pty, as a developer's terminal would give the CLI.
  async function inPty(dir: string, args: string, columns: number): Promise<{ code: number | null; text: string }> {
    const result = await runInPty([process.execPath, CLI, ...args.split(' ')], {
      cwd: dir,
      env: { PATH: process.env.PATH, TERM: 'xterm' },
      columns,
    });
    return { code: result.code, text: result.stdout };
  }

  it('shows the listr2 task list, then the summary and remediation', async () => {
    const dir = await pluginDir(PLUGINS);
    const { code, text } = await inPty(
      dir,
      '--debug check --plugin ok.mjs --plugin fails.mjs --only team-ok,team-fails',
      100,
    );
    expect(code).toBe(3);
    expect(text).toMatch(/\u001b\[2K/); // listr2 redraws lines in place
    expect(text).toMatch(/✔\S* team ok: all good/);
    expect(text).toMatch(/✖\S* team fails: quota exceeded/);
    expect(text).toMatch(/1 passed.*1 failed/);
    expect(text).toContain('oc patch resourcequota compute -p ...');
  });

  it('falls back to plain lines on a pty without a size', async () => {
    const dir = await pluginDir(PLUGINS);
    const { code, text } = await inPty(dir, 'check --plugin ok.mjs --only team-ok', 0);
    expect(code).toBe(0);
    expect(text).not.toMatch(/\u001b\[2K/);
    expect(text).toContain('team-ok');
  });
});

describe('an implicit ./preflight.yaml never runs code (issue 13, case 2)', () => {
  // What a cloned repository could hold: a plugin that acts the moment it is imported.
  const EVIL = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../imported', import.meta.url), 'the plugin ran');
export default { id: 'team-evil', title: 'evil', scope: 'any', inspects: 'nothing', run: async () => ({ status: 'pass', message: 'ran' }) };
`;
  const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model';
  const workspace = () =>
    testdir({ 'preflight.yaml': `ecrUri: ${ECR}\nplugins: [.hidden/evil.js]\n`, '.hidden/evil.js': EVIL });
  const WARNING = /^warning: ignoring plugins: in \.\/preflight\.yaml .*--config preflight\.yaml.* or --plugin FILE$/m;
  const imported = (dir: string) =>
    readFile(join(dir, 'imported'), 'utf8').then(
      () => true,
      () => false,
    );

  it.each([
    ['check --list', ['check', '--list', '-o', 'json']],
    ['check', ['check', '--only', 'ecr-uri', '-o', 'json']],
  ])('%s takes its values but not its plugins, and says so once on stderr', async (_name, args) => {
    const dir = await workspace();
    const result = await runCli(args, { cwd: dir });
    expect(result.stderr).toMatch(WARNING);
    expect(result.stderr.match(/ignoring plugins/g)).toHaveLength(1);
    expect(result.code).toBe(0);
    expect(await imported(dir)).toBe(false);
    // stdout stays one JSON document, and the file's values still apply.
    const json: unknown = JSON.parse(result.stdout);
    if (args.includes('--list')) expect(JSON.stringify(json)).not.toContain('team-evil');
    else expect(json).toMatchObject({ checks: [{ id: 'ecr-uri', status: 'pass' }] });
  });

  it('says why before an --only that names an ignored plugin check is refused', async () => {
    const dir = await workspace();
    const result = await runCli(['check', '--only', 'team-evil'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^warning: ignoring plugins: .*\nerror: --only: unknown check id team-evil\n/m);
    expect(await imported(dir)).toBe(false);
  });

  it.each([
    ['--config', ['--config', 'preflight.yaml'], {}],
    ['PREFLIGHT_CONFIG', [], { PREFLIGHT_CONFIG: 'preflight.yaml' }],
  ])('a file named with %s loads its plugins', async (_name, flags, env) => {
    const dir = await workspace();
    const result = await runCli(['check', '--list', '-o', 'json', ...flags], { cwd: dir, env });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('ignoring plugins');
    expect(await imported(dir)).toBe(true);
    expect(result.stdout).toContain('"id": "team-evil"');
  });
});

describe('the cache root is private (issue 13, case 10)', () => {
  const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

  it.each([
    ['XDG_CACHE_HOME', (dir: string) => ({ XDG_CACHE_HOME: dir }), ''],
    ['HOME', (dir: string) => ({ HOME: dir }), '.cache'],
  ])(
    'is created 0700 under a fresh %s, though Node creates the compile cache folders 0755',
    async (_name, env, under) => {
      const dir = await testdir();
      const result = await runCli(['--version'], { env: env(dir), umask: 0o022 });
      expect(result.code).toBe(0);
      expect(await modeOf(join(dir, under, 'preflight'))).toBe(0o700);
      expect((await stat(join(dir, under, 'preflight', 'compile-cache'))).isDirectory()).toBe(true);
    },
  );

  it('is tightened when it exists wider', async () => {
    const dir = await testdir();
    await mkdir(join(dir, 'preflight', 'compile-cache'), { recursive: true });
    await chmod(join(dir, 'preflight'), 0o755);
    const result = await runCli(['--version'], { env: { XDG_CACHE_HOME: dir } });
    expect(result.code).toBe(0);
    expect(await modeOf(join(dir, 'preflight'))).toBe(0o700);
  });

  it('costs nothing but the speed-up where it cannot be created', async () => {
    const dir = await testdir({ 'not-a-folder': '' });
    const result = await runCli(['--version'], { env: { XDG_CACHE_HOME: join(dir, 'not-a-folder') } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
});
