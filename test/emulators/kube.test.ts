import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeApiServer, startKubeApiServer } from './kube/server.ts';
import type { User } from './kube/state.ts';

let kube: KubeApiServer;
let dir: string;
let admin: User;
let reader: User;

beforeAll(async () => {
  kube = await startKubeApiServer({ namespaces: ['team'] });
  dir = await mkdtemp(join(tmpdir(), 'kube-emu-'));
  admin = kube.state.addUser('admin', [{ verbs: ['*'], resources: ['*'] }]);
  reader = kube.state.addUser('reader', [{ verbs: ['get', 'list'], resources: ['secrets'], namespaces: ['team'] }]);
});

afterAll(async () => {
  await kube.close();
  await rm(dir, { recursive: true, force: true });
});

async function api(user: User): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(await kube.kubeconfig(dir, user, { namespace: 'team' }));
  return kc;
}

function secret(name: string, value: string, resourceVersion?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    data: { KEY: Buffer.from(value).toString('base64') },
  };
}

async function failure(promise: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiException)) throw new Error(`expected an ApiException, got ${String(error)}`);
  const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
  const status = body !== null && typeof body === 'object' ? Object.fromEntries(Object.entries(body)) : {};
  return { code: error.code, reason: String(status.reason), message: String(status.message) };
}

describe('Kubernetes API emulator, through the real @kubernetes/client-node', () => {
  it('creates, reads and replaces a Secret with increasing resourceVersions', async () => {
    const core = (await api(admin)).makeApiClient(CoreV1Api);
    const created = await core.createNamespacedSecret({ namespace: 'team', body: secret('a', 'one') });
    const rv1 = Number(created.metadata?.resourceVersion);
    const read = await core.readNamespacedSecret({ name: 'a', namespace: 'team' });
    expect(Buffer.from(read.data?.KEY ?? '', 'base64').toString()).toBe('one');
    const replaced = await core.replaceNamespacedSecret({
      name: 'a',
      namespace: 'team',
      body: secret('a', 'two', read.metadata?.resourceVersion),
    });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(rv1);
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('answers 409 to a stale update and to a create of an existing name, 404 to a missing one', async () => {
    const core = (await api(admin)).makeApiClient(CoreV1Api);
    const first = await core.createNamespacedSecret({ namespace: 'team', body: secret('b', 'one') });
    await core.replaceNamespacedSecret({
      name: 'b',
      namespace: 'team',
      body: secret('b', 'two', first.metadata?.resourceVersion),
    });
    expect(
      await failure(
        core.replaceNamespacedSecret({
          name: 'b',
          namespace: 'team',
          body: secret('b', 'three', first.metadata?.resourceVersion),
        }),
      ),
    ).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(await failure(core.createNamespacedSecret({ namespace: 'team', body: secret('b', 'four') }))).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
    });
    expect(await failure(core.readNamespacedSecret({ name: 'nope', namespace: 'team' }))).toMatchObject({
      code: 404,
      reason: 'NotFound',
    });
    const stored = await core.readNamespacedSecret({ name: 'b', namespace: 'team' });
    expect(Buffer.from(stored.data?.KEY ?? '', 'base64').toString()).toBe('two');
  });

  it('enforces RBAC with a 403 naming the user, verb and namespace; an unknown token is 401', async () => {
    const core = (await api(reader)).makeApiClient(CoreV1Api);
    const denied = await failure(core.createNamespacedSecret({ namespace: 'team', body: secret('c', 'x') }));
    expect(denied).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(denied.message).toBe(
      'secrets is forbidden: User "reader" cannot create resource "secrets" in API group "" in the namespace "team"',
    );
    await expect(core.listNamespacedSecret({ namespace: 'team' })).resolves.toMatchObject({ kind: 'SecretList' });
    expect(await failure(core.listNamespacedSecret({ namespace: 'other' }))).toMatchObject({ code: 403 });
    const stranger = { ...reader, token: 'not-a-token', name: 'stranger' };
    expect(
      (await failure((await api(stranger)).makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'team' }))).code,
    ).toBe(401);
  });

  it('answers SelfSubjectAccessReview from the rules and SelfSubjectReview with the user', async () => {
    const kc = await api(reader);
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const review = async (verb: string) =>
      (
        await authz.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb, resource: 'secrets', namespace: 'team' } } },
        })
      ).status?.allowed;
    expect(await review('get')).toBe(true);
    expect(await review('update')).toBe(false);
    const who = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(who.status?.userInfo?.username).toBe('reader');
  });

  it('rejects non-base64 data with 400 (it does not decode) and an invalid dockerconfigjson with 422', async () => {
    const core = (await api(admin)).makeApiClient(CoreV1Api);
    const bad = { ...secret('d', 'x'), data: { KEY: 'not base64!' } };
    expect(await failure(core.createNamespacedSecret({ namespace: 'team', body: bad }))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
    });
    const docker = {
      ...secret('e', 'x'),
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{nope').toString('base64') },
    };
    expect(await failure(core.createNamespacedSecret({ namespace: 'team', body: docker }))).toMatchObject({
      code: 422,
    });
  });

  it('injects faults and forced conflicts', async () => {
    const core = (await api(admin)).makeApiClient(CoreV1Api);
    kube.state.faults.push({ method: 'GET', path: /\/secrets\/b$/, status: 500, times: 1 });
    expect((await failure(core.readNamespacedSecret({ name: 'b', namespace: 'team' }))).code).toBe(500);
    const current = await core.readNamespacedSecret({ name: 'b', namespace: 'team' });
    kube.state.forcedConflicts = 1;
    expect(
      (
        await failure(
          core.replaceNamespacedSecret({
            name: 'b',
            namespace: 'team',
            body: secret('b', 'five', current.metadata?.resourceVersion),
          }),
        )
      ).code,
    ).toBe(409);
    await expect(
      core.replaceNamespacedSecret({
        name: 'b',
        namespace: 'team',
        body: secret('b', 'five', current.metadata?.resourceVersion),
      }),
    ).resolves.toBeDefined();
  });

  it('serves ServiceAccounts, Namespaces and Nodes', async () => {
    kube.state.put('ServiceAccount', 'team', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'pipeline-runner',
        annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/ecr-push' },
      },
    });
    kube.state.put('Node', undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { 'kubernetes.io/arch': 'amd64' } },
    });
    const core = (await api(admin)).makeApiClient(CoreV1Api);
    const sa = await core.readNamespacedServiceAccount({ name: 'pipeline-runner', namespace: 'team' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/role\/ecr-push$/);
    const nodes = await core.listNode();
    expect(nodes.items.map((n) => n.metadata?.labels?.['kubernetes.io/arch'])).toEqual(['amd64']);
  });

  describe('strict where the API server is strict', () => {
    async function raw(
      method: string,
      path: string,
      options: { body?: string | Buffer; contentType?: string; user?: User } = {},
    ): Promise<{ status: number; body: Record<string, unknown> }> {
      const response = await request(`${kube.url}${path}`, {
        method,
        dispatcher: new Agent({ connect: { ca: kube.ca } }),
        headers: {
          authorization: `Bearer ${(options.user ?? admin).token}`,
          ...(options.contentType === undefined ? {} : { 'content-type': options.contentType }),
        },
        ...(options.body === undefined ? {} : { body: options.body }),
      });
      const text = await response.body.text();
      const parsed: unknown = JSON.parse(text);
      return {
        status: response.statusCode,
        body: typeof parsed === 'object' && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {},
      };
    }
    const SECRETS = '/api/v1/namespaces/team/secrets';

    it('a malformed body is a 400 for that request, and the next request is served', async () => {
      const broken = await raw('POST', SECRETS, { body: '{"metadata":', contentType: 'application/json' });
      expect(broken).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
      expect(String(broken.body.message)).toMatch(/^couldn't get version\/kind; json parse error: /);
      expect((await raw('GET', SECRETS)).status).toBe(200);
    });

    it('refuses protobuf bodies and server-side apply with 415, and stores nothing', async () => {
      const proto = await raw('POST', SECRETS, {
        body: Buffer.from([0x6b, 0x38, 0x73, 0x00]),
        contentType: 'application/vnd.kubernetes.protobuf',
      });
      expect(proto).toMatchObject({ status: 415, body: { reason: 'UnsupportedMediaType' } });
      await raw('POST', SECRETS, { body: JSON.stringify(secret('ssa', 'x')), contentType: 'application/json' });
      const apply = await raw('PATCH', `${SECRETS}/ssa`, {
        body: 'data: {}',
        contentType: 'application/apply-patch+yaml',
      });
      expect(apply.status).toBe(415);
      expect(kube.state.list('Secret', 'team').map((o) => o.metadata.name)).not.toContain('');
    });

    it('merges stringData into data, defaults the type, and never stores a dryRun=All write', async () => {
      const body = JSON.stringify({ metadata: { name: 'merged' }, data: { a: 'YQ==' }, stringData: { b: 'bee' } });
      const dry = await raw('POST', `${SECRETS}?dryRun=All`, { body, contentType: 'application/json' });
      expect(dry).toMatchObject({ status: 201, body: { type: 'Opaque', data: { a: 'YQ==', b: 'YmVl' } } });
      expect(dry.body.stringData).toBeUndefined();
      expect(kube.state.get('Secret', 'team', 'merged')).toBeUndefined();
      expect((await raw('POST', SECRETS, { body, contentType: 'application/json' })).status).toBe(201);
      expect(kube.state.get('Secret', 'team', 'merged')).toMatchObject({ type: 'Opaque', data: { b: 'YmVl' } });
    });

    it('a create in a namespace that does not exist is 404 naming the namespace', async () => {
      const missing = await raw('POST', '/api/v1/namespaces/ghost/secrets', {
        body: JSON.stringify(secret('x', 'y')),
        contentType: 'application/json',
      });
      expect(missing).toMatchObject({
        status: 404,
        body: {
          reason: 'NotFound',
          message: 'namespaces "ghost" not found',
          details: { name: 'ghost', kind: 'namespaces' },
        },
      });
    });

    it('a watch from a resourceVersion sends only later changes, filtered by its selector', async () => {
      const kc = await api(admin);
      const core = kc.makeApiClient(CoreV1Api);
      const list = await core.listNamespacedSecret({ namespace: 'team' });
      const { Watch } = await import('@kubernetes/client-node');
      const events: string[] = [];
      let seen: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (seen = resolve));
      const watch = await new Watch(kc).watch(
        SECRETS,
        { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'watched=yes' },
        (type: string, object: { metadata?: { name?: string } }) => {
          events.push(`${type} ${object.metadata?.name ?? ''}`);
          if (type === 'DELETED') seen();
        },
        () => undefined,
      );
      await core.createNamespacedSecret({ namespace: 'team', body: secret('unwatched', 'x') });
      await core.createNamespacedSecret({
        namespace: 'team',
        body: { ...secret('watched', 'x'), metadata: { name: 'watched', labels: { watched: 'yes' } } },
      });
      await core.deleteNamespacedSecret({ name: 'watched', namespace: 'team' });
      await done;
      watch.abort();
      expect(events).toEqual(['ADDED watched', 'DELETED watched']);
    });
  });
});
