import { describe, expect, it } from 'vitest';
import check from '../../checks/kaniko-dir.ts';
import { type CheckContext, type CheckOptions, type CheckResult, type UserInfo, skip } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';
import { type NodeSpec, createMemoryFs, dir, file } from '../support/memory-fs.ts';

const randomUid: UserInfo = { uid: 1000770000, gid: 0, groups: [0] };
const root: UserInfo = { uid: 0, gid: 0, groups: [0], username: 'root', passwdHome: '/root' };
const kaniko: Partial<CheckOptions> = { builder: 'kaniko' };

/** What the runner does before `run`: honour appliesTo. */
async function evaluate(ctx: CheckContext): Promise<CheckResult> {
  const applies = check.appliesTo?.(ctx) ?? true;
  if (applies !== true) return skip(applies === false ? 'does not apply here' : applies);
  return check.run(ctx);
}

function setup(input: {
  files: Record<string, NodeSpec>;
  user?: UserInfo;
  env?: Record<string, string>;
  options?: Partial<CheckOptions>;
}) {
  const user = input.user ?? randomUid;
  const fs = createMemoryFs({ user, files: input.files });
  return { fs, ctx: fakeContext({ fs, user, scope: 'pod', env: input.env ?? {}, options: input.options ?? kaniko }) };
}

describe('kaniko-dir', () => {
  it.each([
    { name: 'builder not set', options: {}, files: {}, reason: 'builder is not set; pass --builder kaniko' },
    {
      name: 'another builder',
      options: { builder: 'buildah' as const },
      files: {},
      reason: 'builder is buildah; pass --builder kaniko',
    },
  ])('skip: $name', async ({ options, files, reason }) => {
    const result = await evaluate(setup({ files, options }).ctx);
    expect(result).toEqual({ status: 'skip', reason: `${reason} to check the Kaniko directory` });
  });

  it.each([
    {
      name: 'the executor image /kaniko at 777',
      files: { '/kaniko': dir(0o777) },
      status: 'pass',
      message: '/kaniko is writable by uid 1000770000, mode 0777',
    },
    { name: 'a sticky 1777 /kaniko', files: { '/kaniko': dir(0o1777) }, status: 'pass', message: 'mode 1777 (sticky)' },
    {
      name: 'KANIKO_DIR=/kaniko/ is the default',
      env: { KANIKO_DIR: '/kaniko/' },
      files: { '/kaniko': dir(0o777) },
      status: 'pass',
      message: '/kaniko is writable',
    },
    {
      name: 'group-writable for gid 0 only',
      files: { '/kaniko': dir(0o775) },
      status: 'warn',
      message: 'its mode is 0775, not 777',
    },
    {
      name: 'a root-owned 0755 /kaniko',
      files: { '/kaniko': dir(0o755) },
      status: 'fail',
      message: '/kaniko is not writable by uid 1000770000 (mode 0755, owner 0:0)',
    },
    { name: 'no /kaniko at all', files: { '/tmp': dir(0o1777) }, status: 'fail', message: '/kaniko does not exist' },
    {
      name: '/kaniko is a file',
      files: { '/kaniko': file('', { mode: 0o777 }) },
      status: 'fail',
      message: '/kaniko is a file, not a directory',
    },
    {
      name: '--kaniko-dir=/tmp/kaniko under a random uid',
      env: { KANIKO_DIR: '/tmp/kaniko' },
      files: { '/tmp/kaniko': dir(0o777) },
      status: 'fail',
      message: 'fails under a random uid with "chown /tmp/kaniko: operation not permitted"',
    },
    {
      name: '--kaniko-dir=/tmp/kaniko as root',
      user: root,
      env: { KANIKO_DIR: '/tmp/kaniko' },
      files: { '/tmp/kaniko': dir(0o777) },
      status: 'warn',
      message: 'works as root only until the pod runs with a random uid',
    },
  ])('$status: $name', async ({ files, user, env, status, message }) => {
    const result = await evaluate(
      setup({ files, ...(user === undefined ? {} : { user }), ...(env === undefined ? {} : { env }) }).ctx,
    );
    expect(result.status).toBe(status);
    if (result.status === 'skip') throw new Error(`unexpected skip: ${result.reason}`);
    expect(result.message).toContain(message);
    if (result.status === 'warn' || result.status === 'fail') {
      expect(result.remediation).toContain('RUN ["/busybox/chmod", "777", "/kaniko"]');
      expect(result.remediation).toContain('emptyDir: {}');
      expect(result.remediation).toContain('mountPath: /kaniko');
    }
  });

  it('removes its probe and leaves /kaniko as it was', async () => {
    const { fs, ctx } = setup({
      files: { '/kaniko': dir(0o777), '/kaniko/executor': file({ size: 40_000_000 }, { mode: 0o755 }) },
    });
    const before = fs.paths();
    expect((await evaluate(ctx)).status).toBe('pass');
    expect(fs.paths()).toEqual(before);
    const [written, removed, ...rest] = fs.operations();
    expect(written).toMatch(/^writeFile \/kaniko\/\.preflight-probe-/);
    expect(removed).toBe(written?.replace('writeFile', 'remove'));
    expect(rest).toEqual([]);
  });
});
