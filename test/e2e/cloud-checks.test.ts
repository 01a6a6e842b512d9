import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from '../emulators/aws/server.ts';
import type { Identity } from '../emulators/aws/state.ts';
import { type KubeApiServer, startKubeApiServer } from '../emulators/kube/server.ts';
import type { User } from '../emulators/kube/state.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ecr-push`;
const ECR_URI = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1`;
const CLOUD_CHECKS =
  'aws-credentials,ecr-repository,ecr-permissions,ecr-login,irsa,credentials-secret,secret-rbac,node-architecture,kfp-token,hf-token';
let aws: AwsEmulator;
let kube: KubeApiServer;
let registry: RegistryHandle;
let dir: string;
let admin: User;
let reader: User;
let pipeline: Identity;
const runs: CliResult[] = [];

interface CheckRow {
  id: string;
  status: string;
  message?: string;
  remediation?: string;
  reason?: string;
}

beforeAll(async () => {
  [aws, kube] = await Promise.all([startAwsEmulator(), startKubeApiServer({ namespaces: ['team-a', 'team-b'] })]);
  // The htpasswd registry below knows one password in advance; ECR would hand out a fresh one per call.
  aws.state.ecrStaticPassword = true;
  registry = await startRegistry({ auth: 'htpasswd', username: 'AWS', password: aws.state.ecrPassword });
  dir = await mkdtemp(join(tmpdir(), 'cloud-checks-'));
  admin = kube.state.addUser('alice@example.com', [{ verbs: ['*'], resources: ['*'] }]);
  reader = kube.state.addUser('bob@example.com', [{ verbs: ['get'], resources: ['secrets', 'serviceaccounts'] }]);
  pipeline = aws.state.addUser(ACCOUNT, 'pipeline');
  aws.state.addRole(ACCOUNT, 'ecr-push');
}, 60_000);

afterAll(async () => {
  await Promise.all([aws.close(), kube.close(), registry.stop()]);
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  kube.state.objects.clear();
  aws.state.repositories.clear();
  aws.state.decisions.clear();
  aws.state.simulationDenied = false;
  aws.state.addRepository(ACCOUNT, 'team/model');
  aws.state.ecrProxyEndpoint = registry.url;
  kube.state.put('ServiceAccount', 'team-a', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'pipeline-runner', annotations: { 'eks.amazonaws.com/role-arn': ROLE } },
  });
  kube.state.put('Node', undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'worker-1', labels: { 'kubernetes.io/arch': 'amd64' } },
  });
});

async function env(user: User = admin, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    ...aws.env(pipeline),
    HOME: dir,
    KUBECONFIG: await kube.kubeconfig(dir, user, { namespace: 'team-a' }),
    ...extra,
  };
}

async function check(
  args: readonly string[],
  options: { user?: User; env?: Record<string, string> } = {},
): Promise<{ result: CliResult; rows: Map<string, CheckRow> }> {
  const result = await runCli(
    [
      'check',
      '--debug',
      '--ecr-uri',
      ECR_URI,
      '--namespace',
      'team-a',
      '--scope',
      'laptop',
      '--only',
      CLOUD_CHECKS,
      '-o',
      'json',
      ...args,
    ],
    { env: { ...(await env(options.user)), ...options.env } },
  );
  runs.push(result);
  const report: unknown = JSON.parse(result.stdout);
  const checks: unknown[] =
    typeof report === 'object' && report !== null && 'checks' in report && Array.isArray(report.checks)
      ? report.checks
      : [];
  const rows = new Map<string, CheckRow>();
  for (const row of checks) {
    if (typeof row !== 'object' || row === null) continue;
    const text = (key: string): string | undefined => {
      const value: unknown = Object.entries(row).find(([k]) => k === key)?.[1];
      return typeof value === 'string' ? value : undefined;
    };
    const id = text('id');
    if (id === undefined) continue;
    const optional = (key: 'message' | 'remediation' | 'reason') =>
      text(key) === undefined ? {} : { [key]: text(key) };
    rows.set(id, {
      id,
      status: text('status') ?? '',
      ...optional('message'),
      ...optional('remediation'),
      ...optional('reason'),
    });
  }
  return { result, rows };
}

async function mintSecret(): Promise<void> {
  const result = await runCli(['mint-creds', '--namespace', 'team-a', '--role-arn', ROLE], { env: await env() });
  runs.push(result);
  expect(result.code).toBe(0);
}

describe('cloud checks through preflight check, against the AWS and Kubernetes emulators and a real registry', () => {
  it('all pass when everything is wired', async () => {
    await mintSecret();
    const { result, rows } = await check([], { env: { KFP_TOKEN: admin.token } });
    const statuses = Object.fromEntries([...rows].map(([id, row]) => [id, row.status]));
    expect(statuses).toEqual({
      'aws-credentials': 'pass',
      'ecr-repository': 'pass',
      'ecr-permissions': 'pass',
      'ecr-login': 'pass',
      irsa: 'pass',
      'credentials-secret': 'pass',
      'secret-rbac': 'pass',
      'node-architecture': 'pass',
      'kfp-token': 'pass',
      'hf-token': 'skip',
    });
    expect(result.code).toBe(0);
    expect(rows.get('ecr-login')?.message).toMatch(
      /ECR login works for 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com; the token expires in 1[12]h/,
    );
    expect(rows.get('kfp-token')?.message).toBe('the cluster accepts KFP_TOKEN as alice@example.com');
    expect(rows.get('credentials-secret')?.message).toContain('assumed-role/ecr-push/preflight-mint-creds');
  });

  it('ecr-permissions lists exactly the missing actions and a minimal policy', async () => {
    aws.state.decisions.set('ecr:PutImage', 'implicitDeny');
    aws.state.decisions.set('ecr:UploadLayerPart', 'explicitDeny');
    const { result, rows } = await check(['--only', 'ecr-permissions']);
    expect(result.code).toBe(3);
    const row = rows.get('ecr-permissions');
    expect(row?.status).toBe('fail');
    expect(row?.message).toBe(
      `arn:aws:iam::${ACCOUNT}:user/pipeline may not ecr:UploadLayerPart, ecr:PutImage on team/model: a push fails with 403 DENIED`,
    );
    expect(row?.remediation).toContain('An explicit Deny blocks ecr:UploadLayerPart');
    const policy: unknown = JSON.parse((row?.remediation ?? '').slice((row?.remediation ?? '').indexOf('{')));
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EcrPush',
          Effect: 'Allow',
          Action: ['ecr:UploadLayerPart', 'ecr:PutImage'],
          Resource: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/team/model`,
        },
      ],
    });
  });

  it('ecr-permissions falls back to probes when simulation is denied, and says what is unproven', async () => {
    aws.state.simulationDenied = true;
    const unproven = await check(['--only', 'ecr-permissions']);
    expect(unproven.rows.get('ecr-permissions')).toMatchObject({ status: 'warn' });
    expect(unproven.rows.get('ecr-permissions')?.message).toMatch(
      /but not ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage$/,
    );
    aws.state.decisions.set('ecr:BatchCheckLayerAvailability', 'implicitDeny');
    const denied = await check(['--only', 'ecr-permissions']);
    expect(denied.rows.get('ecr-permissions')?.status).toBe('fail');
    expect(denied.rows.get('ecr-permissions')?.message).toMatch(
      /may not ecr:BatchCheckLayerAvailability \(probed, because iam:SimulatePrincipalPolicy is not allowed/,
    );
  });

  it('ecr-repository: a missing repository explains the dropped connection; an existing tag in an IMMUTABLE one fails', async () => {
    aws.state.repositories.clear();
    const missing = await check(['--only', 'ecr-repository']);
    expect(missing.rows.get('ecr-repository')?.message).toContain('it drops the connection');
    expect(missing.rows.get('ecr-repository')?.remediation).toContain(
      'aws ecr create-repository --repository-name team/model --region eu-west-1',
    );
    aws.state.addRepository(ACCOUNT, 'team/model', 'IMMUTABLE').tags.add('v1');
    const immutable = await check(['--only', 'ecr-repository']);
    expect(immutable.rows.get('ecr-repository')).toMatchObject({
      status: 'fail',
      message:
        'tag v1 already exists in the IMMUTABLE repository team/model: the push fails with ImageTagAlreadyExistsException',
    });
  });

  it('ecr-login fails when the registry refuses the token', async () => {
    const other = await startRegistry({ auth: 'htpasswd', username: 'AWS', password: 'another-password' });
    aws.state.ecrProxyEndpoint = other.url;
    try {
      const { rows } = await check(['--only', 'ecr-login']);
      expect(rows.get('ecr-login')).toMatchObject({
        status: 'fail',
        message: 'the registry refused the fresh ECR token (GET /v2/ answered 401)',
      });
    } finally {
      await other.stop();
    }
  });

  it('credentials-secret: missing, expired, or too short-lived each fail with the mint-creds command', async () => {
    kube.state.put('ServiceAccount', 'team-a', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'pipeline-runner' },
    });
    const missing = await check(['--only', 'credentials-secret']);
    expect(missing.rows.get('credentials-secret')).toMatchObject({
      status: 'fail',
      message: 'Secret team-a/aws-ecr-credentials does not exist: the pipeline has no AWS credentials',
    });
    expect(missing.rows.get('credentials-secret')?.remediation).toContain('preflight mint-creds --namespace team-a');
    await mintSecret();
    const short = await check(['--only', 'credentials-secret', '--min-validity', '13h']);
    expect(short.rows.get('credentials-secret')?.message).toMatch(
      /expire in (11h 5\d|12h)m?, sooner than --min-validity/,
    );
    const secret = kube.state.get('Secret', 'team-a', 'aws-ecr-credentials');
    if (secret === undefined) throw new Error('no secret');
    kube.state.put('Secret', 'team-a', {
      ...secret,
      metadata: {
        ...secret.metadata,
        annotations: { ...secret.metadata.annotations, 'preflight.dev/expires-at': '2026-01-01T00:00:00.000Z' },
      },
    });
    const expired = await check(['--only', 'credentials-secret']);
    expect(expired.rows.get('credentials-secret')?.message).toMatch(
      /^the credentials in Secret team-a\/aws-ecr-credentials expired .* ago/,
    );
  });

  it('irsa without annotation or Secret shows both ways; in a pod an unreadable token file gets the fsGroup hint', async () => {
    kube.state.put('ServiceAccount', 'team-a', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'pipeline-runner' },
    });
    const neither = await check(['--only', 'irsa']);
    expect(neither.rows.get('irsa')?.status).toBe('fail');
    expect(neither.rows.get('irsa')?.remediation).toContain(
      'oc annotate serviceaccount pipeline-runner -n team-a eks.amazonaws.com/role-arn=',
    );
    expect(neither.rows.get('irsa')?.remediation).toContain('preflight mint-creds --namespace team-a');
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'x', { mode: 0o000 });
    const pod = await check(['--only', 'irsa', '--scope', 'pod'], {
      env: { AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile },
    });
    const row = pod.rows.get('irsa');
    if (process.getuid?.() === 0) expect(row?.status).toBe('pass');
    else {
      expect(row?.status).toBe('fail');
      expect(row?.message).toContain('is not readable');
    }
  });

  it('secret-rbac names the missing verbs; kfp-token rejects a bad token; node-architecture catches arm64-only nodes; hf-token wants its Secret', async () => {
    kube.state.objects.delete('Node//worker-1');
    kube.state.put('Node', undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'graviton-1', labels: { 'kubernetes.io/arch': 'arm64' } },
    });
    const { rows } = await check(['--only', 'secret-rbac,kfp-token,node-architecture,hf-token', '--gated-model'], {
      user: reader,
      env: { KFP_TOKEN: 'not-a-token' },
    });
    expect(rows.get('secret-rbac')).toMatchObject({
      status: 'fail',
      message:
        'bob@example.com may not create, update secrets in team-a: preflight mint-creds cannot write the credentials Secret',
    });
    expect(rows.get('kfp-token')?.status).toBe('fail');
    expect(rows.get('kfp-token')?.remediation).toContain('export KFP_TOKEN=$(oc whoami -t)');
    expect(rows.get('node-architecture')?.status).toBe('skip');
    expect(rows.get('hf-token')).toMatchObject({
      status: 'fail',
      message: 'Secret team-a/hf-hub-secret does not exist: downloading the gated model fails with 401',
    });
    const asAdmin = await check(['--only', 'node-architecture']);
    expect(asAdmin.rows.get('node-architecture')?.status).toBe('fail');
    expect(asAdmin.rows.get('node-architecture')?.message).toContain('no node runs amd64 (nodes: 1 arm64)');
  });

  it('no secret value reached the output of any run (all with --debug)', () => {
    expect(runs.length).toBeGreaterThan(10);
    const secrets = [
      ...[...aws.state.identities.values()].flatMap((i) => [
        i.secretAccessKey,
        ...(i.sessionToken === undefined ? [] : [i.sessionToken]),
      ]),
      aws.state.ecrPassword,
      admin.token,
      reader.token,
    ];
    const output = runs.map((r) => r.stdout + r.stderr).join('\n');
    for (const value of secrets) expect(output.includes(value)).toBe(false);
  });
});
