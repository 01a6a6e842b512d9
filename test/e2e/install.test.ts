import { existsSync, readFileSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinChecks } from '../../checks/index.ts';
import { REPO_ROOT, runCommand } from '../support/cli.ts';
import { testdir } from '../support/testdir.ts';

/**
 * Issue 14, "Install": the README's install sequence, taken from README.md itself (the fenced block
 * after `<!-- install:from-clone -->`) so the docs and this test cannot drift, run from a folder
 * outside the clone into a temporary global prefix, offline: a folder install only links, and the
 * dependencies are the clone's own.
 */
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const NODE_24_BIN = join(REPO_ROOT, 'node_modules', 'node', 'bin');

function packageJson(): { name: string; version: string; repository: string } {
  const pkg: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const field = (value: unknown, key: string): unknown => (isObject(value) ? value[key] : undefined);
  const [name, version, url] = [field(pkg, 'name'), field(pkg, 'version'), field(field(pkg, 'repository'), 'url')];
  if (typeof name !== 'string' || typeof version !== 'string' || typeof url !== 'string')
    throw new Error('package.json needs name, version and repository.url');
  return { name, version, repository: url.replace(/^git\+/, '') };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The lines of the first ```sh block after `marker`. */
function fencedBlockAfter(marker: string): string[] {
  const start = README.indexOf(marker);
  if (start < 0) throw new Error(`README.md has no ${marker}`);
  const block = /```sh\n([\s\S]*?)\n```/.exec(README.slice(start));
  if (block?.[1] === undefined) throw new Error(`no sh block after ${marker}`);
  return block[1].split('\n');
}

/** The shell fences of README.md: every command a reader may paste. */
function shellBlocks(): string[] {
  return [...README.matchAll(/```(?:sh|bash|console)\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '');
}

/**
 * The two steps that made this checkout, which the test cannot repeat without the network: the
 * clone (this checkout is that clone: the folder gets a link to it, under the name the README's
 * `cd` uses) and `npm run setup` (done for this checkout; the suite's global setup rebuilt dist/).
 * Every other line runs as written.
 */
function standIn(line: string): string {
  const command = line.replace(/\s+#.*$/, '').trim();
  const clone = /^git clone (\S+)$/.exec(command);
  if (clone?.[1] !== undefined) {
    expect(clone[1]).toBe(packageJson().repository);
    const folder = clone[1].replace(/^.*\//, '').replace(/\.git$/, '');
    return `ln -s '${REPO_ROOT}' '${folder}'`;
  }
  if (command === 'npm run setup') return 'test -d node_modules && test -f dist/src/cli.js';
  return line;
}

// A hang bound only: npm and two preflight runs take seconds, on two cores other work shares.
describe('README Install (issue 14)', { timeout: 300_000 }, () => {
  it('installs from a clone as written, and preflight then runs from a folder outside it', async () => {
    expect(existsSync(join(NODE_24_BIN, 'node')), 'npm run setup puts Node 24 in node_modules/node/bin').toBe(true);
    const lines = fencedBlockAfter('<!-- install:from-clone -->');
    expect(lines.some((l) => l.startsWith('git clone '))).toBe(true);
    expect(lines.some((l) => /^npm install -g \.(\s|$)/.test(l))).toBe(true);
    const [outside, prefix, home] = await Promise.all([testdir(), testdir(), testdir()]);
    const script = ['set -eu', ...lines.map(standIn)].join('\n');
    const result = await runCommand('sh', ['-c', script], {
      cwd: outside,
      env: {
        // Node 24 first, as `nvm use 24` leaves it; the installed command comes before both.
        PATH: [join(prefix, 'bin'), NODE_24_BIN, '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
        HOME: home,
        NO_COLOR: '1',
        // The global prefix for this test only, and never the network: a folder install needs neither.
        NPM_CONFIG_PREFIX: prefix,
        npm_config_offline: 'true',
        npm_config_cache: join(home, '.npm'),
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
      },
    });
    expect(result.stderr).not.toMatch(/error|ERR!/i);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`\n${packageJson().version}\n`);
    for (const check of builtinChecks) expect(result.stdout).toMatch(new RegExp(`^${check.id}\\s`, 'm'));
    // npm linked the clone under the package's scoped name, and the bin under `preflight`.
    expect((await lstat(join(prefix, 'lib', 'node_modules', ...packageJson().name.split('/')))).isSymbolicLink()).toBe(
      true,
    );
    expect(await realpath(join(prefix, 'bin', 'preflight'))).toBe(
      await realpath(join(REPO_ROOT, 'bin', 'preflight.js')),
    );
  });

  it('the tarball the README names is what npm pack makes, and holds the built CLI, not the sources', async () => {
    const home = await testdir();
    const result = await runCommand('npm', ['pack', '--dry-run', '--json'], {
      env: {
        PATH: [NODE_24_BIN, '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
        HOME: home,
        npm_config_offline: 'true',
        npm_config_cache: join(home, '.npm'),
        npm_config_update_notifier: 'false',
      },
    });
    expect(result.code).toBe(0);
    const packed: unknown = JSON.parse(result.stdout);
    const first: unknown = Array.isArray(packed) ? packed[0] : undefined;
    const filename = isObject(first) ? first.filename : undefined;
    const files =
      isObject(first) && Array.isArray(first.files) ? first.files.map((f: unknown) => (isObject(f) ? f.path : f)) : [];
    expect(filename).toBe(`${packageJson().name.replace(/^@/, '').replace('/', '-')}-${packageJson().version}.tgz`);
    expect(README).toContain(`npm install -g ./${String(filename)}`);
    expect(files).toEqual(
      expect.arrayContaining(['bin/preflight.js', 'dist/src/cli.js', 'dist/src/plugin.js', 'package.json']),
    );
    expect(
      files.filter(
        (f) => typeof f !== 'string' || !/^(bin|dist|schema)\/|^(package\.json|README\.md|LICENSE)$/.test(f),
      ),
    ).toEqual([]);
  });

  it('no README command runs npx (outside a clone it would fetch the unrelated public package "preflight")', () => {
    expect(packageJson().name).not.toBe('preflight');
    for (const block of shellBlocks()) expect(block).not.toMatch(/(^|[\s;&|(])npx\s/m);
  });
});
