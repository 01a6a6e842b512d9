import { describe, expect, it } from 'vitest';
import check from '../../checks/runtime-user.ts';
import type { CheckResult, UserInfo } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';
import { type NodeSpec, createMemoryFs, dir } from '../support/memory-fs.ts';

const randomUid: UserInfo = { uid: 1000770000, gid: 0, groups: [0, 1000770000] };
const dev: UserInfo = { uid: 1000, gid: 1000, groups: [1000], username: 'dev', passwdHome: '/home/dev' };
const nobodyHome: UserInfo = { uid: 1001, gid: 0, groups: [0], username: 'builder', passwdHome: '/nonexistent' };
const tmp = { '/tmp': dir(0o1777) };
const passwdFix = ['- name: HOME\n    value: /tmp', 'RUN chmod g=u /etc/passwd', '>> /etc/passwd', 'nss_wrapper'];

interface Case {
  readonly name: string;
  readonly user: UserInfo;
  readonly env: Record<string, string>;
  readonly files: Record<string, NodeSpec>;
  readonly status: CheckResult['status'];
  readonly message: string;
  readonly remediation?: readonly string[];
  readonly details?: readonly string[];
}

const cases: Case[] = [
  {
    name: 'a random uid with HOME=/tmp',
    user: randomUid,
    env: { HOME: '/tmp' },
    files: tmp,
    status: 'pass',
    message: 'uid 1000770000 has no passwd entry (OpenShift random uid) but a writable HOME (/tmp)',
    details: [
      'uid 1000770000 (no passwd entry)',
      'gid 0, groups 0, 1000770000',
      'HOME /tmp (writable)',
      'group 0 present, as OpenShift gives every pod uid: files and directories the step writes into must be group 0 and group-writable (chgrp -R 0 <dir> && chmod -R g=u <dir>)',
    ],
  },
  {
    name: 'a passwd user with its own home',
    user: dev,
    env: { HOME: '/home/dev' },
    files: { '/home/dev': dir(0o700, { uid: 1000, gid: 1000 }) },
    status: 'pass',
    message: 'uid 1000 (dev) has a writable HOME (/home/dev)',
    details: [
      'uid 1000 (dev)',
      'gid 1000, groups 1000',
      'HOME /home/dev (writable)',
      'group 0 absent: permissions granted to group 0 in the image (chmod g=u) do not apply to this uid',
    ],
  },
  {
    name: 'no passwd entry and HOME unset',
    user: randomUid,
    env: {},
    files: tmp,
    status: 'fail',
    message: 'uid 1000770000 has no passwd entry and HOME is unset',
    remediation: passwdFix,
  },
  {
    name: 'no passwd entry and HOME=/',
    user: randomUid,
    env: { HOME: '/' },
    files: tmp,
    status: 'fail',
    message:
      'has no passwd entry and HOME is /: tools that need a home fail (docker login: "mkdir /.docker: permission denied", ssh: "No user exists for uid 1000770000")',
    remediation: passwdFix,
  },
  {
    name: 'no passwd entry and a HOME owned by the image user',
    user: randomUid,
    env: { HOME: '/opt/app' },
    files: { '/opt/app': dir(0o755, { uid: 1001 }) },
    status: 'fail',
    message:
      'HOME (/opt/app) is not writable: tools that need a home fail (docker login: "mkdir /opt/app/.docker: permission denied"',
    remediation: passwdFix,
  },
  {
    name: 'a passwd user whose HOME is read-only',
    user: dev,
    env: { HOME: '/home/app' },
    files: { '/home/app': dir(0o755) },
    status: 'warn',
    message: 'HOME (/home/app) is not writable for uid 1000 (dev)',
    remediation: ['- name: HOME\n    value: /tmp'],
  },
  {
    name: 'a passwd user with HOME unset and a missing passwd home',
    user: nobodyHome,
    env: {},
    files: tmp,
    status: 'warn',
    message: 'HOME (/nonexistent) is not writable for uid 1001 (builder)',
    details: [
      'uid 1001 (builder)',
      'gid 0, groups 0',
      'HOME /nonexistent (not writable)',
      expect.stringContaining('group 0 present'),
    ],
  },
];

function setup(c: Pick<Case, 'user' | 'env' | 'files'>) {
  const fs = createMemoryFs({ user: c.user, files: c.files });
  return { fs, ctx: fakeContext({ fs, user: c.user, scope: 'pod', env: c.env }) };
}

describe('runtime-user', () => {
  it.each(cases)('$status: $name', async (c) => {
    const result = await check.run(setup(c).ctx);
    expect(result.status).toBe(c.status);
    if (result.status === 'skip') throw new Error(`unexpected skip: ${result.reason}`);
    expect(result.message).toContain(c.message);
    for (const part of c.remediation ?? [])
      expect(result.status === 'pass' ? 'no remediation on a pass' : result.remediation).toContain(part);
    if (c.details !== undefined) expect(result.details).toEqual(c.details);
  });

  it('removes its probe from HOME and leaves everything as it was', async () => {
    const { fs, ctx } = setup({ user: randomUid, env: { HOME: '/tmp' }, files: tmp });
    const before = fs.paths();
    expect((await check.run(ctx)).status).toBe('pass');
    expect(fs.paths()).toEqual(before);
    const [written, removed, ...rest] = fs.operations();
    expect(written).toMatch(/^writeFile \/tmp\/\.preflight-probe-/);
    expect(removed).toBe(written?.replace('writeFile', 'remove'));
    expect(rest).toEqual([]);
  });
});
