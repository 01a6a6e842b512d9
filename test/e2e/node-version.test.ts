import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCommand } from '../support/cli.ts';
import { testdir } from '../support/testdir.ts';

/**
 * Issue 14, "Node": on a Node older than engines allows, the bin says so in one line before it
 * loads anything of preflight, instead of a TypeError inside undici. Tested with the machine's own
 * node outside node_modules (v20 on the developers' machines and on CI).
 */
const NEEDED = neededVersion();

function neededVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const engines = isObject(pkg) ? pkg.engines : undefined;
  const range = isObject(engines) ? engines.node : undefined;
  const match = typeof range === 'string' ? /^>=(\d+\.\d+)$/.exec(range) : null;
  if (match?.[1] === undefined) throw new Error(`package.json engines.node is ${String(range)}, not >=MAJOR.MINOR`);
  return match[1];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function olderThan(version: string, needed: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = needed.split('.').map(Number);
  return major < needMajor || (major === needMajor && minor < needMinor);
}

/** A `node` on PATH (or in /usr/bin, /usr/local/bin) outside any node_modules, older than NEEDED. */
function oldNode(): { path: string; version: string } | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs.filter((d) => d !== '' && !d.includes('node_modules'))) {
    const path = join(dir, 'node');
    try {
      accessSync(path, constants.X_OK);
    } catch (error) {
      if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'EACCES')) continue;
      throw error;
    }
    const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (olderThan(version, NEEDED)) return { path, version };
  }
  return undefined;
}

const old = oldNode();
// CI's machine is like this one: there a missing old node is a broken test setup, not a skip.
const runOld = old !== undefined || process.env.CI === 'true';

/** An environment that cannot reach anything but loopback even if the check were gone. */
function isolatedEnv(home: string): Record<string, string | undefined> {
  return {
    PATH: '/usr/bin:/bin',
    NO_COLOR: '1',
    HOME: home,
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
    KUBECONFIG: join(home, 'no-kubeconfig'),
  };
}

// A hang bound only: each case is one Node start, on two cores other work shares.
describe('the Node.js version check (issue 14, Node)', { timeout: 180_000 }, () => {
  it('bin/preflight.js and package.json engines name the same version', () => {
    const bin = readFileSync(CLI, 'utf8');
    expect(bin).toContain(`const NODE_NEEDED = '${NEEDED}';`);
  });

  describe.runIf(runOld)(`with this machine's node older than ${NEEDED} (${old?.version ?? 'none found'})`, () => {
    const line = (version: string) =>
      `preflight needs Node.js ${NEEDED} or newer (this is v${version}): install Node.js 24 LTS, e.g. nvm install 24 or https://nodejs.org\n`;

    it.each([
      ['--version', ['--version']],
      ['a push', ['push', 'oci:/nonexistent', '127.0.0.1:9/x/y:v1']],
      ['check --list', ['check', '--list']],
    ])('the bin prints one line and exits 1: %s', async (_name, args) => {
      if (old === undefined) throw new Error(`CI=true but no node older than ${NEEDED} outside node_modules`);
      const home = await testdir();
      const result = await runCommand(old.path, [CLI, ...args], { env: isolatedEnv(home), cwd: home });
      expect(result.stderr).toBe(line(old.version));
      expect(result.stdout).toBe('');
      expect(result.code).toBe(1);
    });

    it('scripts/mint-ecr-credentials.sh gives the same line and exit code', async () => {
      if (old === undefined) throw new Error(`CI=true but no node older than ${NEEDED} outside node_modules`);
      const home = await testdir();
      const result = await runCommand('bash', [join(REPO_ROOT, 'scripts', 'mint-ecr-credentials.sh')], {
        env: {
          ...isolatedEnv(home),
          NODE: old.path,
          DS_PROJECT: 'team-a',
          ROLE_ARN: 'arn:aws:iam::123456789012:role/ecr-push',
        },
        cwd: home,
      });
      expect(result.stderr).toBe(line(old.version));
      expect(result.code).toBe(1);
    });
  });
});
