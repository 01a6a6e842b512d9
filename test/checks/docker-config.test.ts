import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import check from '../../checks/docker-config.ts';
import type { CheckOptions, CheckResult, UserInfo } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';
import { type NodeSpec, createMemoryFs, dir, file } from '../support/memory-fs.ts';

// Fake credentials, made fresh on every run: the check must never echo them.
const password = randomUUID();
const auth = Buffer.from(`AWS:${password}`).toString('base64');
const token = randomUUID();
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const withAuth = JSON.stringify({
  auths: { [ECR]: { auth }, 'https://index.docker.io/v1/': { identitytoken: token } },
});
const helperOnly = JSON.stringify({ credsStore: 'ecr-login', credHelpers: { 'ghcr.io': 'gh' } });

const randomUid: UserInfo = { uid: 1000770000, gid: 0, groups: [0] };
const dev: UserInfo = { uid: 1000, gid: 1000, groups: [1000], username: 'dev', passwdHome: '/home/dev' };
const devHome = {
  '/home/dev': dir(0o755, { uid: 1000, gid: 1000 }),
  '/home/dev/.docker': dir(0o700, { uid: 1000, gid: 1000 }),
};
const tmp = { '/tmp': dir(0o1777) };

interface Case {
  readonly name: string;
  readonly scope?: 'laptop' | 'pod';
  readonly user?: UserInfo;
  readonly env?: Record<string, string>;
  readonly options?: Partial<CheckOptions>;
  readonly files: Record<string, NodeSpec>;
  readonly status: CheckResult['status'];
  readonly message: string;
  readonly remediation?: string;
  readonly details?: readonly string[];
}

const cases: Case[] = [
  {
    name: 'private credentials in a writable ~/.docker',
    user: dev,
    env: { HOME: '/home/dev' },
    files: { ...devHome, '/home/dev/.docker/config.json': file(withAuth, { mode: 0o600, uid: 1000, gid: 1000 }) },
    status: 'pass',
    message: '/home/dev/.docker is writable by uid 1000; config.json parses and its credentials are private',
    details: [`inline credentials for: ${ECR}, index.docker.io`],
  },
  {
    name: 'DOCKER_CONFIG not created yet under a writable /tmp',
    scope: 'pod',
    options: { dockerConfig: '/tmp/.docker' },
    files: tmp,
    status: 'pass',
    message: 'DOCKER_CONFIG (/tmp/.docker) does not exist yet; uid 1000770000 can create it (/tmp is writable)',
  },
  {
    name: 'DOCKER_CONFIG from the env when no option was resolved',
    scope: 'pod',
    env: { DOCKER_CONFIG: '/tmp/.docker', HOME: '/' },
    files: tmp,
    status: 'pass',
    message: 'DOCKER_CONFIG (/tmp/.docker)',
  },
  {
    name: 'helpers only: no secrets in the file, so its mode does not matter',
    user: dev,
    env: { HOME: '/home/dev' },
    files: { ...devHome, '/home/dev/.docker/config.json': file(helperOnly, { mode: 0o644, uid: 1000, gid: 1000 }) },
    status: 'pass',
    message: 'config.json parses',
    details: ['credsStore: docker-credential-ecr-login', 'credHelpers: ghcr.io → docker-credential-gh'],
  },
  {
    name: 'a Secret mount the random uid reads through group 0',
    scope: 'pod',
    options: { dockerConfig: '/tmp/.docker' },
    files: {
      ...tmp,
      '/tmp/.docker': dir(0o777),
      '/tmp/.docker/config.json': file(withAuth, { mode: 0o440, uid: 0, gid: 0 }),
    },
    status: 'pass',
    message: 'its credentials are private',
  },
  {
    name: 'HOME=/ in a pod',
    scope: 'pod',
    env: { HOME: '/' },
    files: tmp,
    status: 'fail',
    message:
      'DOCKER_CONFIG is unset and HOME is /: docker login and kaniko fail with "mkdir /.docker: permission denied"',
    remediation: 'env:\n  - name: DOCKER_CONFIG\n    value: /tmp/.docker',
  },
  {
    name: 'HOME unset and no passwd entry',
    scope: 'pod',
    files: tmp,
    status: 'fail',
    message: 'DOCKER_CONFIG and HOME are unset',
    remediation: '- name: DOCKER_CONFIG',
  },
  {
    name: 'a read-only HOME from the image',
    scope: 'pod',
    env: { HOME: '/opt/app' },
    files: { '/opt/app': dir(0o755, { uid: 1001 }) },
    status: 'fail',
    message:
      'HOME (/opt/app) is not writable by uid 1000770000: docker login and kaniko fail with "mkdir /opt/app/.docker: permission denied"',
    remediation: 'value: /tmp/.docker',
  },
  {
    name: 'DOCKER_CONFIG owned by root',
    scope: 'pod',
    options: { dockerConfig: '/kaniko/.docker' },
    files: { '/kaniko/.docker': dir(0o755) },
    status: 'fail',
    message: 'DOCKER_CONFIG (/kaniko/.docker) is not writable by uid 1000770000 (mode 0755, owner 0:0)',
    remediation: 'value: /tmp/.docker',
  },
  {
    name: 'DOCKER_CONFIG to be created in a root-owned directory',
    scope: 'pod',
    options: { dockerConfig: '/kaniko/.docker' },
    files: { '/kaniko': dir(0o755) },
    status: 'fail',
    message:
      'DOCKER_CONFIG (/kaniko/.docker) does not exist and uid 1000770000 cannot create it: creating a file in /kaniko fails with EACCES',
    remediation: 'value: /tmp/.docker',
  },
  {
    name: 'DOCKER_CONFIG naming the file',
    options: { dockerConfig: '/tmp/.docker/config.json' },
    files: {
      ...tmp,
      '/tmp/.docker': dir(0o777),
      '/tmp/.docker/config.json': file(helperOnly, { mode: 0o600, uid: 1000770000 }),
    },
    status: 'fail',
    message: 'names the file config.json',
    remediation: '- name: DOCKER_CONFIG\n    value: /tmp/.docker',
  },
  {
    name: 'config.json that is not JSON',
    options: { dockerConfig: '/tmp/.docker' },
    files: {
      ...tmp,
      '/tmp/.docker': dir(0o777),
      '/tmp/.docker/config.json': file(`{"auths": {"${ECR}": {"auth": "${auth}"`, { mode: 0o600, uid: 1000770000 }),
    },
    status: 'fail',
    message: '/tmp/.docker/config.json is not a valid JSON object',
    remediation: 'python3 -m json.tool /tmp/.docker/config.json',
  },
  {
    name: 'world-readable credentials the uid owns',
    user: dev,
    env: { HOME: '/home/dev' },
    files: { ...devHome, '/home/dev/.docker/config.json': file(withAuth, { mode: 0o644, uid: 1000, gid: 1000 }) },
    status: 'fail',
    message: '/home/dev/.docker/config.json holds registry credentials and is readable by every user (mode 0644)',
    remediation: 'chmod 600 /home/dev/.docker/config.json',
    details: [`inline credentials for: ${ECR}, index.docker.io`],
  },
  {
    name: 'world-readable credentials from a Secret mount',
    scope: 'pod',
    options: { dockerConfig: '/tmp/.docker' },
    files: {
      ...tmp,
      '/tmp/.docker': dir(0o777),
      '/tmp/.docker/config.json': file(withAuth, { mode: 0o644, uid: 0, gid: 0 }),
    },
    status: 'fail',
    message: 'readable by every user (mode 0644)',
    remediation: 'defaultMode: 0440',
  },
  {
    name: 'group-readable credentials the uid owns',
    user: dev,
    env: { HOME: '/home/dev' },
    files: { ...devHome, '/home/dev/.docker/config.json': file(withAuth, { mode: 0o640, uid: 1000, gid: 1000 }) },
    status: 'warn',
    message: 'readable by group 1000 (mode 0640)',
    remediation: 'chmod 600 /home/dev/.docker/config.json',
  },
];

function setup(c: Pick<Case, 'scope' | 'user' | 'env' | 'options' | 'files'>) {
  const user = c.user ?? randomUid;
  const fs = createMemoryFs({ user, files: c.files });
  const ctx = fakeContext({ fs, user, scope: c.scope ?? 'laptop', env: c.env ?? {}, options: c.options ?? {} });
  return { fs, ctx };
}

describe('docker-config', () => {
  it.each(cases)('$status: $name', async (c) => {
    const { ctx } = setup(c);
    const result = await check.run(ctx);
    expect(result.status).toBe(c.status);
    if (result.status === 'skip') throw new Error(`unexpected skip: ${result.reason}`);
    expect(result.message).toContain(c.message);
    if (c.remediation !== undefined)
      expect(result.status === 'pass' ? 'no remediation on a pass' : result.remediation).toContain(c.remediation);
    if (c.details !== undefined) expect(result.details).toEqual(c.details);
    const text = JSON.stringify(result);
    for (const secret of [password, auth, token]) expect(text).not.toContain(secret);
  });

  it.each([
    [
      'an existing directory',
      { options: { dockerConfig: '/tmp/.docker' }, files: { ...tmp, '/tmp/.docker': dir(0o700, { uid: 1000770000 }) } },
      /^writeFile \/tmp\/\.docker\/\.preflight-probe-/,
    ],
    [
      'a directory still to be created',
      { options: { dockerConfig: '/tmp/.docker' }, files: tmp },
      /^writeFile \/tmp\/\.preflight-probe-/,
    ],
  ])('removes its probe from %s and leaves everything else as it was', async (_name, input, probedIn) => {
    const { fs, ctx } = setup(input);
    const before = fs.paths();
    const result = await check.run(ctx);
    expect(result.status).toBe('pass');
    expect(fs.paths()).toEqual(before);
    const [written, removed, ...rest] = fs.operations();
    expect(written).toMatch(probedIn);
    expect(removed).toBe(written?.replace('writeFile', 'remove'));
    expect(rest).toEqual([]);
  });
});
