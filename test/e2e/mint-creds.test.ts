import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from '../emulators/aws/server.ts';
import type { Identity } from '../emulators/aws/state.ts';
import { type KubeApiServer, startKubeApiServer } from '../emulators/kube/server.ts';
import type { StoredObject, User } from '../emulators/kube/state.ts';
import { type CliResult, REPO_ROOT, runCli, runCommand } from '../support/cli.ts';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ecr-push`;
const ECR_URI = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/model`;
let aws: AwsEmulator;
let kube: KubeApiServer;
let dir: string;
let home: string;
let admin: User;
let reader: User;
let pipelineUser: Identity;
let sso: Identity;
/** Every CLI run of this file, for the redaction assertion at the end. */
const runs: CliResult[] = [];

beforeAll(async () => {
  [aws, kube] = await Promise.all([startAwsEmulator(), startKubeApiServer({ namespaces: ['team-a', 'team-b'] })]);
  // Assertions name the password GetAuthorizationToken hands out; ECR would give a fresh one per call.
  aws.state.ecrStaticPassword = true;
  dir = await mkdtemp(join(tmpdir(), 'mint-e2e-'));
  home = await mkdtemp(join(tmpdir(), 'mint-home-'));
  admin = kube.state.addUser('alice@example.com', [
    { verbs: ['get', 'create', 'update'], resources: ['secrets'] },
    { verbs: ['create'], resources: ['selfsubjectaccessreviews'] },
  ]);
  reader = kube.state.addUser('bob@example.com', [
    { verbs: ['get', 'list'], resources: ['secrets'], namespaces: ['team-a'] },
  ]);
  pipelineUser = aws.state.addUser(ACCOUNT, 'pipeline');
  sso = aws.state.addSession(ACCOUNT, 'AWSReservedSSO_DataScientist_0123456789abcdef', 'alice@example.com', 8 * 3600);
  aws.state.addRole(ACCOUNT, 'ecr-push');
  aws.state.addRepository(ACCOUNT, 'team/model');
});

afterAll(async () => {
  await Promise.all([aws.close(), kube.close()]);
  await rm(dir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  kube.state.objects.clear();
  kube.state.log.length = 0;
  aws.state.calls.length = 0;
});

async function mint(
  args: readonly string[],
  options: { user?: User; identity?: Identity; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const kubeconfig = await kube.kubeconfig(dir, options.user ?? admin, { namespace: 'team-a' });
  const result = await runCli(['mint-creds', '--debug', ...args], {
    env: { ...aws.env(options.identity ?? sso), HOME: home, KUBECONFIG: kubeconfig, ...options.env },
  });
  runs.push(result);
  return result;
}

function secretOf(namespace: string, name: string): StoredObject | undefined {
  return kube.state.get('Secret', namespace, name);
}

function decoded(secret: StoredObject | undefined): Record<string, string> {
  const data = secret?.data;
  if (typeof data !== 'object' || data === null) return {};
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]),
  );
}

function writes(): { method: string; path: string }[] {
  return kube.state.log.filter((l) => (l.method === 'POST' || l.method === 'PUT') && l.path.includes('/secrets'));
}

describe('preflight mint-creds against the AWS and Kubernetes emulators', () => {
  it('assumes the role from an SSO session (capped at 1h, with a warning), verifies, and creates a managed Secret', async () => {
    const result = await mint(['--namespace', 'team-a', '--role-arn', ROLE]);
    expect(result.stderr).toContain('role chaining');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/team-a\/aws-ecr-credentials\s+Opaque\s+created/);
    const secret = secretOf('team-a', 'aws-ecr-credentials');
    const data = decoded(secret);
    expect(Object.keys(data).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
    ]);
    const minted = aws.state.identities.get(data.AWS_ACCESS_KEY_ID ?? '');
    expect(minted?.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/preflight-mint-creds`);
    expect(minted?.secretAccessKey).toBe(data.AWS_SECRET_ACCESS_KEY);
    expect(minted?.sessionToken).toBe(data.AWS_SESSION_TOKEN);
    expect(data.AWS_REGION).toBe('eu-west-1');
    expect(secret?.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'preflight' });
    const annotations = secret?.metadata.annotations ?? {};
    expect(annotations['preflight.dev/identity']).toBe(minted?.arn);
    expect(Date.parse(annotations['preflight.dev/expires-at'] ?? '') - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(annotations['preflight.dev/expires-at']).toBe(minted?.expiresAt?.toISOString());
    expect(annotations['preflight.dev/source']).toContain(sso.arn);
    // Verified with the minted keys before the write.
    const verify = aws.state.calls.filter(
      (c) => c.operation === 'GetCallerIdentity' && c.accessKeyId === data.AWS_ACCESS_KEY_ID,
    );
    expect(verify).toHaveLength(1);
  });

  it('updates its own Secret in place (higher resourceVersion, same uid) and keeps foreign labels', async () => {
    await mint(['--namespace', 'team-a', '--role-arn', ROLE]);
    const first = secretOf('team-a', 'aws-ecr-credentials');
    if (first === undefined) throw new Error('not created');
    kube.state.put('Secret', 'team-a', {
      ...first,
      metadata: { ...first.metadata, labels: { ...first.metadata.labels, team: 'a' } },
    });
    const second = await mint(['--namespace', 'team-a', '--role-arn', ROLE, '--output', 'json']);
    expect(second.code).toBe(0);
    const report: unknown = JSON.parse(second.stdout);
    expect(report).toMatchObject({
      outcome: 'minted',
      capped: true,
      secrets: [{ namespace: 'team-a', name: 'aws-ecr-credentials', action: 'updated' }],
    });
    const updated = secretOf('team-a', 'aws-ecr-credentials');
    expect(Number(updated?.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
    expect(updated?.metadata.uid).toBe(first.metadata.uid);
    expect(updated?.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'preflight', team: 'a' });
    expect(kube.state.log.some((l) => l.method === 'DELETE')).toBe(false);
  });

  it('an explicit --duration above the chaining cap fails with the explanation and writes nothing', async () => {
    const result = await mint(['--namespace', 'team-a', '--role-arn', ROLE, '--duration', '12h']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/role chaining.*lasts at most 1 hour/);
    expect(writes()).toEqual([]);
    expect(aws.state.calls.some((c) => c.operation === 'AssumeRole')).toBe(false);
  });

  it('from IAM user keys the role session gets the full 12h', async () => {
    const result = await mint(['--namespace', 'team-a', '--role-arn', ROLE, '--output', 'json'], {
      identity: pipelineUser,
    });
    expect(result.code).toBe(0);
    const report: unknown = JSON.parse(result.stdout);
    expect(report).toMatchObject({ capped: false });
    const expiresAt =
      typeof report === 'object' && report !== null && 'expiresAt' in report ? String(report.expiresAt) : '';
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
  });

  it('--type registry writes a dockerconfigjson with the ECR token and the expiry ECR returned', async () => {
    aws.state.ecrTokenLifetimeSeconds = 5 * 3600;
    try {
      const result = await mint(['--namespace', 'team-a', '--type', 'registry', '--ecr-uri', ECR_URI]);
      expect(result.code).toBe(0);
      const secret = secretOf('team-a', 'ecr-registry-credentials');
      expect(secret?.type).toBe('kubernetes.io/dockerconfigjson');
      const config: unknown = JSON.parse(decoded(secret)['.dockerconfigjson'] ?? '{}');
      const auth = Buffer.from(`AWS:${aws.state.ecrPassword}`).toString('base64');
      expect(config).toEqual({ auths: { [`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`]: { auth } } });
      const expires = Date.parse(secret?.metadata.annotations?.['preflight.dev/expires-at'] ?? '');
      expect(Math.abs(expires - (Date.now() + 5 * 3600_000))).toBeLessThan(120_000);
      expect(secretOf('team-a', 'aws-ecr-credentials')).toBeUndefined();
    } finally {
      aws.state.ecrTokenLifetimeSeconds = 12 * 3600;
    }
  });

  it('--type both into two namespaces writes four Secrets', async () => {
    const result = await mint([
      '-n',
      'team-a',
      '-n',
      'team-b',
      '--type',
      'both',
      '--role-arn',
      ROLE,
      '--ecr-uri',
      ECR_URI,
      '--output',
      'json',
    ]);
    expect(result.code).toBe(0);
    for (const ns of ['team-a', 'team-b']) {
      expect(secretOf(ns, 'aws-ecr-credentials')?.type).toBe('Opaque');
      expect(secretOf(ns, 'ecr-registry-credentials')?.type).toBe('kubernetes.io/dockerconfigjson');
    }
  });

  it('refuses to overwrite a Secret it does not manage; --force adopts it', async () => {
    kube.state.put('Secret', 'team-a', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'aws-ecr-credentials' },
      data: { AWS_ACCESS_KEY_ID: Buffer.from('hand-made').toString('base64') },
    });
    const refused = await mint(['--namespace', 'team-a', '--role-arn', ROLE]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Secret team-a/aws-ecr-credentials exists and is not managed by preflight');
    expect(refused.stderr).toContain('--force');
    expect(decoded(secretOf('team-a', 'aws-ecr-credentials')).AWS_ACCESS_KEY_ID).toBe('hand-made');
    const adopted = await mint(['--namespace', 'team-a', '--role-arn', ROLE, '--force']);
    expect(adopted.code).toBe(0);
    expect(adopted.stdout).toContain('adopted');
    expect(secretOf('team-a', 'aws-ecr-credentials')?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe(
      'preflight',
    );
  });

  it('without RBAC on Secrets: exit 2 naming the user, namespace and verbs, before any AWS call', async () => {
    const result = await mint(['--namespace', 'team-a', '--role-arn', ROLE], { user: reader });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"bob@example.com" may not create, update secrets in namespace "team-a"');
    expect(result.stderr).toContain(
      'oc create role preflight-secrets --verb=get,create,update --resource=secrets -n team-a',
    );
    expect(aws.state.calls).toEqual([]);
    expect(writes()).toEqual([]);
  });

  it('into a namespace that does not exist: one line saying so, exit 2, nothing written', async () => {
    const result = await mint(['--namespace', 'ghost', '--role-arn', ROLE]);
    expect(result.code).toBe(2);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toEqual([
      expect.stringMatching(
        /^error: namespace "ghost" does not exist on https:\/\/127\.0\.0\.1:\d+ \(404 while trying to create secrets "aws-ecr-credentials" in namespace "ghost"\)$/,
      ),
    ]);
    expect(result.stderr).toContain('hint: check --namespace (or DS_PROJECT)');
    expect(
      kube.state.log.filter((l) => l.method === 'POST' && l.path.endsWith('/secrets')).map((l) => [l.path, l.status]),
    ).toEqual([['/api/v1/namespaces/ghost/secrets', 404]]);
    expect(kube.state.list('Secret', 'ghost')).toEqual([]);
  });

  it('--rotate-if-expiring-within is a no-op while fresh and rotates when not', async () => {
    await mint(['--namespace', 'team-a', '--role-arn', ROLE], { identity: pipelineUser });
    const before = secretOf('team-a', 'aws-ecr-credentials')?.metadata.resourceVersion;
    aws.state.calls.length = 0;
    const fresh = await mint(['--namespace', 'team-a', '--role-arn', ROLE, '--rotate-if-expiring-within', '2h'], {
      identity: pipelineUser,
    });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('Secrets are fresh: nothing to rotate');
    expect(aws.state.calls).toEqual([]);
    expect(secretOf('team-a', 'aws-ecr-credentials')?.metadata.resourceVersion).toBe(before);
    const rotated = await mint(['--namespace', 'team-a', '--role-arn', ROLE, '--rotate-if-expiring-within', '13h'], {
      identity: pipelineUser,
    });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('updated');
    expect(Number(secretOf('team-a', 'aws-ecr-credentials')?.metadata.resourceVersion)).toBeGreaterThan(Number(before));
  });

  it('--dry-run prints redacted manifests and writes nothing', async () => {
    const result = await mint([
      '--namespace',
      'team-a',
      '--type',
      'both',
      '--role-arn',
      ROLE,
      '--ecr-uri',
      ECR_URI,
      '--dry-run',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('kind: Secret');
    expect(result.stdout).toMatch(/AWS_SECRET_ACCESS_KEY: "?<redacted: 40 bytes>"?/);
    expect(result.stdout).toContain('.dockerconfigjson: "<redacted');
    expect(writes()).toEqual([]);
  });

  it('an expired SSO session says aws sso login, and writes nothing', async () => {
    const expired = aws.state.addSession(
      ACCOUNT,
      'AWSReservedSSO_DataScientist_0123456789abcdef',
      'alice@example.com',
      -60,
    );
    const result = await mint(['--namespace', 'team-a', '--role-arn', ROLE], { identity: expired });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'sts:GetCallerIdentity with the source credentials: the AWS credentials have expired',
    );
    expect(result.stderr).toContain('hint: run aws sso login');
    expect(writes()).toEqual([]);
  });

  it('bad flags are one-line usage errors before anything is contacted', async () => {
    const cases: [string[], RegExp][] = [
      [['--role-arn', ROLE], /no namespace: pass --namespace NS or export DS_PROJECT/],
      [['-n', 'Team_A', '--role-arn', ROLE], /--namespace "Team_A" is not a Kubernetes namespace name/],
      [['-n', 'team-a', '--role-arn', 'ecr-push'], /--role-arn "ecr-push" is not an IAM role ARN/],
      [['-n', 'team-a'], /--type aws needs --role-arn/],
      [['-n', 'team-a', '--role-arn', ROLE, '--duration', '13h'], /--duration "13h" is not between 15m and 12h/],
      [['-n', 'team-a', '--type', 'registry'], /needs the ECR registry/],
    ];
    for (const [args, message] of cases) {
      const result = await mint(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(aws.state.calls).toEqual([]);
    expect(kube.state.log).toEqual([]);
  });

  it('10 concurrent runs on one Secret all succeed; the Secret ends as one complete minted set', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => mint(['--namespace', 'team-a', '--role-arn', ROLE], { identity: pipelineUser })),
    );
    expect(results.map((r) => r.code)).toEqual(Array<number>(10).fill(0));
    const data = decoded(secretOf('team-a', 'aws-ecr-credentials'));
    const identity = aws.state.identities.get(data.AWS_ACCESS_KEY_ID ?? '');
    expect(identity?.secretAccessKey).toBe(data.AWS_SECRET_ACCESS_KEY);
    expect(identity?.sessionToken).toBe(data.AWS_SESSION_TOKEN);
    expect(secretOf('team-a', 'aws-ecr-credentials')?.metadata.annotations?.['preflight.dev/expires-at']).toBe(
      identity?.expiresAt?.toISOString(),
    );
    // They really raced: at least one conditional update lost and was retried.
    expect(kube.state.log.filter((l) => l.status === 409).length).toBeGreaterThan(0);
  });

  it('--watch writes, then stops cleanly on SIGTERM', async () => {
    const kubeconfig = await kube.kubeconfig(dir, admin, { namespace: 'team-a' });
    const result = await runCli(['mint-creds', '--debug', '--watch', '--namespace', 'team-a', '--role-arn', ROLE], {
      env: { ...aws.env(pipelineUser), HOME: home, KUBECONFIG: kubeconfig },
      onStdout: (soFar, child) => {
        if (soFar.includes('next check in')) child.kill('SIGTERM');
      },
    });
    runs.push(result);
    // Like every command, a watch ended by a signal exits 128 + its number (issue 14): the Secret it
    // wrote stays, and stderr says the watch stopped.
    expect(result.code).toBe(143);
    expect(result.stdout).toContain('next check in');
    expect(result.stderr).toContain('stopped watching');
    expect(result.stderr).toContain('error: interrupted by SIGTERM');
    expect(secretOf('team-a', 'aws-ecr-credentials')).toBeDefined();
  });

  it('scripts/mint-ecr-credentials.sh keeps the DS_PROJECT / ROLE_ARN interface', async () => {
    const kubeconfig = await kube.kubeconfig(dir, admin, { namespace: 'team-a' });
    const env = {
      ...aws.env(pipelineUser),
      PATH: '/usr/bin:/bin',
      HOME: home,
      KUBECONFIG: kubeconfig,
      NODE: process.execPath,
      NO_COLOR: '1',
    };
    const script = join(REPO_ROOT, 'scripts', 'mint-ecr-credentials.sh');
    const missing = await runCommand('bash', [script], { env });
    runs.push(missing);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('DS_PROJECT is not set');
    const result = await runCommand('bash', [script, '--debug'], {
      env: { ...env, DS_PROJECT: 'team-b', ROLE_ARN: ROLE, SECRET_NAME: 'legacy-creds' },
    });
    runs.push(result);
    expect(result.code).toBe(0);
    expect(decoded(secretOf('team-b', 'legacy-creds')).AWS_REGION).toBe('eu-west-1');
  });

  it('no secret value ever reached stdout, stderr or a file outside the Secret (every run used --debug)', async () => {
    expect(runs.length).toBeGreaterThan(10);
    const secrets = [
      ...[...aws.state.identities.values()].flatMap((i) => [
        i.secretAccessKey,
        ...(i.sessionToken === undefined ? [] : [i.sessionToken]),
      ]),
      aws.state.ecrPassword,
      Buffer.from(`AWS:${aws.state.ecrPassword}`).toString('base64'),
      admin.token,
      reader.token,
    ];
    const output = runs.map((r) => r.stdout + r.stderr).join('\n');
    expect(output).toContain('debug:');
    for (const value of secrets) expect(output.includes(value), 'a secret value was printed').toBe(false);
    // HOME (caches, configs) holds nothing secret either.
    for (const file of await walk(home)) {
      const text = await readFile(file, 'utf8');
      for (const value of secrets) expect(text.includes(value), `${file} holds a secret value`).toBe(false);
    }
  });
});

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if ((await stat(path)).isFile()) out.push(path);
  }
  return out;
}
