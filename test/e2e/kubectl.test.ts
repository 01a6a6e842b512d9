import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KubeApiServer, startKubeApiServer } from '../emulators/kube/server.ts';
import type { User } from '../emulators/kube/state.ts';

/**
 * Real kubectl (Debian's kubernetes-client 1.20, pinned: `npm run setup` extracts it to
 * /opt/kubernetes-client because another package may own /usr/bin/kubectl) against the Kubernetes
 * double. Under CI=true a missing kubectl fails the suite instead of skipping it.
 */
const KUBECTL = process.env.PREFLIGHT_KUBECTL ?? '/opt/kubernetes-client/usr/bin/kubectl';
const present = existsSync(KUBECTL);
if (!present && process.env.CI === 'true')
  throw new Error(`kubectl is missing at ${KUBECTL} under CI=true: run npm run setup (as root)`);

let kube: KubeApiServer;
let dir: string;
let admin: User;
let reader: User;

beforeAll(async () => {
  kube = await startKubeApiServer({ namespaces: ['team'] });
  dir = await mkdtemp(join(tmpdir(), 'kubectl-'));
  await mkdir(join(dir, 'home'));
  admin = kube.state.addUser('admin', [{ verbs: ['*'], resources: ['*'] }]);
  reader = kube.state.addUser('reader', [{ verbs: ['get', 'list'], resources: ['secrets'], namespaces: ['team'] }]);
});

afterAll(async () => {
  await kube.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  kube.state.objects.clear();
});

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An environment with nothing of the caller's: a private HOME (discovery cache) and the double's kubeconfig. */
async function env(user: User): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: join(dir, 'home'),
    KUBECONFIG: await kube.kubeconfig(dir, user, { namespace: 'team' }),
  };
}

async function kubectl(args: readonly string[], options: { user?: User; input?: string } = {}): Promise<Result> {
  const environment = await env(options.user ?? admin);
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, args, { env: environment, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}

function secretData(name: string): Record<string, string> {
  const stored = kube.state.get('Secret', 'team', name);
  const data = stored?.data;
  if (typeof data !== 'object' || data === null) return {};
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]),
  );
}

describe.skipIf(!present)('kubectl 1.20 against the Kubernetes double', () => {
  it('discovers the API: version, resources with their groups and short names', async () => {
    const version = await kubectl(['version', '-o', 'json']);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ serverVersion: { major: '1', minor: '28' } });
    const resources = await kubectl(['api-resources', '-o', 'name']);
    expect(resources.stdout.split('\n')).toEqual(
      expect.arrayContaining(['secrets', 'serviceaccounts', 'cronjobs.batch', 'roles.rbac.authorization.k8s.io']),
    );
  });

  it('creates, gets, labels, patches (strategic, merge, json), replaces and deletes a Secret', async () => {
    expect(await kubectl(['create', 'secret', 'generic', 'app', '--from-literal=user=alice'])).toMatchObject({
      code: 0,
      stdout: 'secret/app created\n',
    });
    const listed = await kubectl(['get', 'secrets']);
    expect(listed.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\napp\s+Opaque\s+1\s+\d+s\n$/);
    expect((await kubectl(['label', 'secret', 'app', 'tier=db'])).stdout).toBe('secret/app labeled\n');
    expect(kube.state.get('Secret', 'team', 'app')?.metadata.labels).toEqual({ tier: 'db' });
    await kubectl(['patch', 'secret', 'app', '-p', '{"stringData":{"password":"s3cret"}}']);
    expect(secretData('app')).toEqual({ user: 'alice', password: 's3cret' });
    await kubectl(['patch', 'secret', 'app', '--type=merge', '-p', '{"data":{"user":null}}']);
    expect(secretData('app')).toEqual({ password: 's3cret' });
    const json = '[{"op":"add","path":"/data/token","value":"dG9r"},{"op":"remove","path":"/data/password"}]';
    await kubectl(['patch', 'secret', 'app', '--type=json', '-p', json]);
    expect(secretData('app')).toEqual({ token: 'tok' });
    const failedTest = await kubectl([
      'patch',
      'secret',
      'app',
      '--type=json',
      '-p',
      '[{"op":"test","path":"/type","value":"x"}]',
    ]);
    expect(failedTest.code).not.toBe(0);

    const yaml = (await kubectl(['get', 'secret', 'app', '-o', 'yaml'])).stdout;
    expect(yaml).toMatch(/resourceVersion: "\d+"/);
    const replaced = await kubectl(['replace', '-f', '-'], { input: yaml.replace('dG9r', 'bmV3') });
    expect(replaced).toMatchObject({ code: 0, stdout: 'secret/app replaced\n' });
    expect(secretData('app')).toEqual({ token: 'new' });
    // The same resourceVersion again is stale now: 409 word for word.
    const stale = await kubectl(['replace', '-f', '-'], { input: yaml });
    expect(stale.stderr).toContain(
      'Operation cannot be fulfilled on secrets "app": the object has been modified; please apply your changes to the latest version and try again',
    );

    expect((await kubectl(['delete', 'secret', 'app'])).stdout).toBe('secret "app" deleted\n');
    expect(kube.state.get('Secret', 'team', 'app')).toBeUndefined();
    expect((await kubectl(['get', 'secret', 'app'])).stderr).toBe(
      'Error from server (NotFound): secrets "app" not found\n',
    );
  });

  it('refuses what the API server refuses, with its words', async () => {
    const name = await kubectl(['create', 'secret', 'generic', 'Bad_Name', '--from-literal=a=b']);
    expect(name.stderr).toContain(
      'The Secret "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
    );
    const namespace = await kubectl(['-n', 'nope', 'create', 'secret', 'generic', 'x', '--from-literal=a=b']);
    expect(namespace.stderr).toBe('Error from server (NotFound): namespaces "nope" not found\n');
    const key = await kubectl(['create', '-f', '-'], {
      input: 'apiVersion: v1\nkind: Secret\nmetadata: {name: keys}\nstringData: {"bad key": x}\n',
    });
    expect(key.stderr).toContain(
      'data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters',
    );
    await kubectl(['create', 'secret', 'generic', 'typed', '--from-literal=username=u']);
    const retype = await kubectl(['patch', 'secret', 'typed', '-p', '{"type":"kubernetes.io/basic-auth"}']);
    expect(retype.stderr).toContain('type: Invalid value: "kubernetes.io/basic-auth": field is immutable');
    await kubectl(['create', '-f', '-'], {
      input: 'apiVersion: v1\nkind: Secret\nmetadata: {name: frozen}\nimmutable: true\nstringData: {a: b}\n',
    });
    const frozen = await kubectl(['patch', 'secret', 'frozen', '-p', '{"stringData":{"a":"c"}}']);
    expect(frozen.stderr).toContain('data: Forbidden: field is immutable when `immutable` is set');
    expect(secretData('frozen')).toEqual({ a: 'b' });
    // kubectl validates against /openapi/v2 before sending.
    const unknown = await kubectl(['create', '-f', '-'], {
      input: 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nbogus: 1\n',
    });
    expect(unknown.stderr).toContain('unknown field "bogus" in io.k8s.api.core.v1.Secret');
    expect([...kube.state.objects.keys()].sort()).toEqual(['Secret/team/frozen', 'Secret/team/typed']);
  });

  it('fills generateName and defaults the type; selects by label and field', async () => {
    const made = await kubectl(['create', '-o', 'name', '-f', '-'], {
      input: 'apiVersion: v1\nkind: Secret\nmetadata: {generateName: gen-, labels: {app: x}}\nstringData: {a: b}\n',
    });
    expect(made.stdout).toMatch(/^secret\/gen-[bcdfghjklmnpqrstvwxz2456789]{5}\n$/);
    await kubectl([
      'create',
      'secret',
      'docker-registry',
      'pull',
      '--docker-server=r.example',
      '--docker-username=u',
      '--docker-password=p',
    ]);
    expect((await kubectl(['get', 'secrets', '-l', 'app=x', '-o', 'name'])).stdout).toBe(made.stdout);
    expect((await kubectl(['get', 'secrets', '-l', 'app!=x', '-o', 'name'])).stdout).toBe('secret/pull\n');
    const byType = await kubectl([
      'get',
      'secrets',
      '--field-selector',
      'type=kubernetes.io/dockerconfigjson',
      '-o',
      'name',
    ]);
    expect(byType.stdout).toBe('secret/pull\n');
    const bad = await kubectl(['get', 'secrets', '--field-selector', 'spec.nope=1']);
    expect(bad.stderr).toContain('field label not supported: spec.nope');
  });

  it('answers auth can-i and can-i --list from the RBAC rules', async () => {
    expect(await kubectl(['auth', 'can-i', 'get', 'secrets'], { user: reader })).toMatchObject({
      code: 0,
      stdout: 'yes\n',
    });
    expect(await kubectl(['auth', 'can-i', 'delete', 'secrets'], { user: reader })).toMatchObject({
      code: 1,
      stdout: 'no\n',
    });
    expect((await kubectl(['auth', 'can-i', 'get', 'secrets', '-n', 'other'], { user: reader })).stdout).toBe('no\n');
    const list = await kubectl(['auth', 'can-i', '--list'], { user: reader });
    expect(list.stdout).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/m);
    expect(list.stdout).toMatch(/^secrets\s+\[\]\s+\[\]\s+\[get list\]$/m);
    expect(list.stdout).not.toMatch(/^\*\.\*/m);
  });

  it('lists nodes with the wide columns', async () => {
    kube.state.put('Node', undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'worker-1', labels: { 'node-role.kubernetes.io/worker': '', 'kubernetes.io/arch': 'amd64' } },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
        nodeInfo: {
          kubeletVersion: 'v1.28.15',
          osImage: 'Red Hat Enterprise Linux CoreOS',
          kernelVersion: '5.14.0',
          containerRuntimeVersion: 'cri-o://1.28.4',
        },
      },
    });
    const wide = await kubectl(['get', 'nodes', '-o', 'wide']);
    const [header, row] = wide.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s{2,}/));
    expect(header).toEqual([
      'NAME',
      'STATUS',
      'ROLES',
      'AGE',
      'VERSION',
      'INTERNAL-IP',
      'EXTERNAL-IP',
      'OS-IMAGE',
      'KERNEL-VERSION',
      'CONTAINER-RUNTIME',
    ]);
    expect(row).toEqual([
      'worker-1',
      'Ready',
      'worker',
      expect.stringMatching(/^\d+s$/),
      'v1.28.15',
      '10.0.0.5',
      '<none>',
      'Red Hat Enterprise Linux CoreOS',
      '5.14.0',
      'cri-o://1.28.4',
    ]);
  });

  it('applies deploy/k8s/ with --dry-run=server without storing anything, then for real, then unchanged', async () => {
    const dry = await kubectl(['apply', '--dry-run=server', '-f', 'deploy/k8s/']);
    expect(dry.stderr).toBe('');
    expect(dry.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'cronjob.batch/preflight-rotate-credentials created (server dry run)',
      'role.rbac.authorization.k8s.io/preflight-secrets created (server dry run)',
      'rolebinding.rbac.authorization.k8s.io/preflight-secrets created (server dry run)',
      'serviceaccount/preflight-rotator created (server dry run)',
    ]);
    expect(kube.state.objects.size).toBe(0);
    expect((await kubectl(['apply', '-f', 'deploy/k8s/'])).stdout).toMatch(/serviceaccount\/preflight-rotator created/);
    expect(kube.state.get('CronJob', 'team', 'preflight-rotate-credentials')).toBeDefined();
    const again = await kubectl(['apply', '-f', 'deploy/k8s/']);
    expect(
      again.stdout
        .split('\n')
        .filter(Boolean)
        .every((line) => line.endsWith(' unchanged')),
    ).toBe(true);
    const redry = await kubectl(['apply', '--dry-run=server', '-f', 'deploy/k8s/']);
    expect(redry.stdout).toContain('serviceaccount/preflight-rotator unchanged (server dry run)');
  });

  it('watches Secrets from the list resourceVersion (kubectl get -w)', async () => {
    await kubectl(['create', 'secret', 'generic', 'before', '--from-literal=a=b']);
    const child: ChildProcess = spawn(KUBECTL, ['get', 'secrets', '-w', '-o', 'name'], { env: await env(admin) });
    try {
      const seen = collect(child);
      await seen.until((text) => text.includes('secret/before'));
      kube.state.put('Secret', 'team', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'after' },
        type: 'Opaque',
      });
      expect(await seen.until((text) => text.includes('secret/after'))).toMatch(/secret\/before\n(.*\n)*secret\/after/);
    } finally {
      child.kill();
    }
  });
});

/** Stdout of `child` as it arrives; `until` resolves once a test on everything so far passes. */
function collect(child: ChildProcess): { until(test: (text: string) => boolean): Promise<string> } {
  let text = '';
  const waiters: { test: (text: string) => boolean; resolve: (text: string) => void }[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    for (const waiter of [...waiters])
      if (waiter.test(text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(text);
      }
  });
  return {
    until: (test) => (test(text) ? Promise.resolve(text) : new Promise((resolve) => waiters.push({ test, resolve }))),
  };
}
