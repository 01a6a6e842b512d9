import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { reportChecks } from '../support/report.ts';
import { testdir } from '../support/testdir.ts';

// OpenShift's restricted SCC: an arbitrary uid with no passwd entry, gid 0, no supplementary groups.
const OPENSHIFT_USER = { uid: 1000770000, gid: 0 };
// Switching uid needs root; CI runs as root, and there a missing capability must fail, not skip.
const canSwitchUser = process.getuid?.() === 0 || process.env.CI === 'true';

describe.runIf(canSwitchUser)('as an OpenShift random uid (setpriv)', () => {
  const args = ['check', '--only', 'docker-config,runtime-user', '--scope', 'pod', '-o', 'json'];

  it('fails with the remediation when HOME=/ and DOCKER_CONFIG is unset', async () => {
    const result = await runCli(args, { env: { HOME: '/' }, asUser: OPENSHIFT_USER, cwd: '/' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(3);
    const [dockerConfig, runtimeUser] = reportChecks(result.stdout);
    expect(dockerConfig).toMatchObject({ id: 'docker-config', status: 'fail' });
    expect(dockerConfig?.remediation).toContain('DOCKER_CONFIG');
    expect(runtimeUser).toMatchObject({ id: 'runtime-user', status: 'fail' });
    expect(runtimeUser?.remediation).toContain('HOME');
  });

  it('passes when HOME and DOCKER_CONFIG point at group-0-writable directories', async () => {
    const dir = await testdir();
    // As OpenShift images do: owned by root, writable by group 0, which the random uid belongs to.
    await chmod(dir, 0o770);
    const home = join(dir, 'home');
    await mkdir(home, { mode: 0o770 });
    await chmod(home, 0o770);
    const result = await runCli(args, {
      env: { HOME: home, DOCKER_CONFIG: join(dir, '.docker') },
      asUser: OPENSHIFT_USER,
      cwd: '/',
    });
    expect(result.stderr).toBe('');
    expect(reportChecks(result.stdout).map((c) => [c.id, c.status])).toEqual([
      ['docker-config', 'pass'],
      ['runtime-user', 'pass'],
    ]);
    expect(result.code).toBe(0);
  });
});
