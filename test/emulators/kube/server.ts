import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeCertificates } from '../../support/registry.ts';
import { KubeState, type User } from './state.ts';

export interface KubeApiServer {
  readonly url: string;
  /** PEM of the CA that signed the server's certificate (kubeconfigs carry it as certificate-authority-data). */
  readonly ca: string;
  readonly state: KubeState;
  /** Write a kubeconfig (mode 0600) in `dir` for `user`; returns its path. */
  kubeconfig(
    dir: string,
    user: User,
    options?: { readonly namespace?: string; readonly context?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

type Answer = { status: number; body: unknown };

const RESOURCES: Record<string, { kind: string; namespaced: boolean }> = {
  secrets: { kind: 'Secret', namespaced: true },
  serviceaccounts: { kind: 'ServiceAccount', namespaced: true },
  namespaces: { kind: 'Namespace', namespaced: false },
  nodes: { kind: 'Node', namespaced: false },
};

/**
 * A Kubernetes API server on loopback for the real @kubernetes/client-node: core/v1 Secrets,
 * ServiceAccounts, Namespaces and Nodes, SelfSubjectAccessReview and SelfSubjectReview, bearer-token
 * users with RBAC rules, one increasing resourceVersion, 409 on a stale update or an existing name,
 * 404, 403 and 401 as real Status objects, Secret validation, and injected faults.
 */
export async function startKubeApiServer(): Promise<KubeApiServer> {
  const state = new KubeState();
  // HTTPS with a throwaway CA, as a cluster serves it: the client refuses plain HTTP without skipTLSVerify.
  const certs = await mkdtemp(join(tmpdir(), 'kube-emu-tls-'));
  const { ca } = await writeCertificates(certs);
  const [cert, key] = await Promise.all([readFile(join(certs, 'server.pem')), readFile(join(certs, 'server.key'))]);
  await rm(certs, { recursive: true, force: true });
  const server = createServer({ cert, key }, (req, res) => {
    void handle(state, req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  const url = `https://127.0.0.1:${address.port}`;
  return {
    url,
    ca,
    state,
    async kubeconfig(dir, user, options = {}) {
      const context = options.context ?? 'emulator';
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'emulator',
            cluster: { server: url, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
          },
        ],
        users: [{ name: user.name, user: { token: user.token } }],
        contexts: [
          {
            name: context,
            context: {
              cluster: 'emulator',
              user: user.name,
              ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
            },
          },
        ],
        'current-context': context,
      };
      const path = join(dir, `kubeconfig-${user.name.replace(/[^a-z0-9]/gi, '_')}`);
      await writeFile(path, stringify(config), { mode: 0o600 });
      return path;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function handle(state: KubeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const user = token === undefined ? undefined : state.users.get(token);
  let answer: Answer;
  const fault = state.takeFault(method, path);
  if (fault !== undefined)
    answer = status(
      fault.status,
      fault.status === 429 ? 'TooManyRequests' : 'InternalError',
      `injected ${fault.status}`,
    );
  else if (user === undefined) answer = status(401, 'Unauthorized', 'Unauthorized');
  else
    answer = route(
      state,
      user,
      method,
      path,
      chunks.length === 0 ? undefined : safeJson(Buffer.concat(chunks).toString('utf8')),
    );
  state.log.push({ method, path, user: user?.name, status: answer.status });
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function route(state: KubeState, user: User, method: string, path: string, body: unknown): Answer {
  if (method === 'POST' && path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    const attrs = field(field(body, 'spec'), 'resourceAttributes');
    const verb = text(field(attrs, 'verb'));
    const resource = text(field(attrs, 'resource'));
    const namespace = field(attrs, 'namespace');
    const allowed = state.allowed(user, verb, resource, typeof namespace === 'string' ? namespace : undefined);
    return {
      status: 201,
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: field(body, 'spec'),
        status: { allowed, ...(allowed ? {} : { reason: '' }) },
      },
    };
  }
  if (method === 'POST' && path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
    return {
      status: 201,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
        metadata: {},
        status: { userInfo: { username: user.name, groups: user.groups } },
      },
    };
  }
  // /api/v1/RESOURCE[/NAME] or /api/v1/namespaces/NS/RESOURCE[/NAME] (/api/v1/namespaces/NAME is the first form).
  const match = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(path);
  if (match === null)
    return status(404, 'NotFound', `the server could not find the requested resource (${method} ${path})`);
  const [, namespace, resource = '', name] = match;
  const spec = RESOURCES[resource];
  if (spec === undefined) return status(404, 'NotFound', `the server could not find the requested resource`);
  const verb =
    method === 'GET'
      ? name === undefined
        ? 'list'
        : 'get'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'DELETE'
            ? 'delete'
            : 'patch';
  if (!state.allowed(user, verb, resource, namespace)) {
    const subject = name === undefined ? resource : `${resource} "${name}"`;
    const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
    return status(
      403,
      'Forbidden',
      `${subject} is forbidden: User "${user.name}" cannot ${verb} resource "${resource}" in API group "" ${scope}`,
      { name, kind: resource },
    );
  }
  const kind = spec.kind;
  if (verb === 'list')
    return {
      status: 200,
      body: {
        apiVersion: 'v1',
        kind: `${kind}List`,
        metadata: { resourceVersion: state.nextVersion() },
        items: state.list(kind, namespace),
      },
    };
  if (verb === 'get') {
    const found = state.get(kind, namespace, name ?? '');
    return found === undefined
      ? status(404, 'NotFound', `${resource} "${name ?? ''}" not found`, { name, kind: resource })
      : { status: 200, body: found };
  }
  if (verb === 'delete') {
    const key = `${kind}/${namespace ?? ''}/${name ?? ''}`;
    if (!state.objects.delete(key))
      return status(404, 'NotFound', `${resource} "${name ?? ''}" not found`, { name, kind: resource });
    return status(200, 'Success', 'deleted');
  }
  return write(state, kind, resource, namespace, name, verb, body);
}

function write(
  state: KubeState,
  kind: string,
  resource: string,
  namespace: string | undefined,
  name: string | undefined,
  verb: string,
  body: unknown,
): Answer {
  const metadata = field(body, 'metadata');
  const objectName = text(field(metadata, 'name'));
  if (verb === 'update' && objectName !== name)
    return status(
      400,
      'BadRequest',
      `the name of the object (${objectName}) does not match the name on the URL (${name ?? ''})`,
    );
  const invalid = kind === 'Secret' ? validateSecret(objectName, body) : undefined;
  if (invalid !== undefined) return status(422, 'Invalid', invalid, { name: objectName, kind: resource });
  const existing = state.get(kind, namespace, objectName);
  if (verb === 'create' && existing !== undefined)
    return status(409, 'AlreadyExists', `${resource} "${objectName}" already exists`, {
      name: objectName,
      kind: resource,
    });
  if (verb === 'update') {
    if (existing === undefined)
      return status(404, 'NotFound', `${resource} "${objectName}" not found`, { name: objectName, kind: resource });
    const sent = field(metadata, 'resourceVersion');
    if (
      state.forcedConflicts > 0 ||
      (sent !== undefined && sent !== '' && sent !== existing.metadata.resourceVersion)
    ) {
      if (state.forcedConflicts > 0) state.forcedConflicts -= 1;
      return status(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${objectName}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: objectName, kind: resource },
      );
    }
  }
  const labels = field(metadata, 'labels');
  const annotations = field(metadata, 'annotations');
  const stored = state.put(kind, namespace, {
    ...(typeof body === 'object' && body !== null ? Object.fromEntries(Object.entries(body)) : {}),
    apiVersion: 'v1',
    kind,
    metadata: {
      name: objectName,
      ...(isRecord(labels) ? { labels: strings(labels) } : {}),
      ...(isRecord(annotations) ? { annotations: strings(annotations) } : {}),
    },
  });
  return { status: verb === 'create' ? 201 : 200, body: stored };
}

/** What the real API server checks on a Secret: base64 data, and a dockerconfigjson that is JSON. */
function validateSecret(name: string, body: unknown): string | undefined {
  const data = field(body, 'data');
  if (data !== undefined && !isRecord(data)) return `Secret "${name}" is invalid: data: Invalid value`;
  for (const [key, value] of Object.entries(isRecord(data) ? data : {})) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
      return `Secret "${name}" is invalid: data[${key}]: Invalid value: illegal base64 data`;
  }
  if (field(body, 'type') === 'kubernetes.io/dockerconfigjson') {
    const raw = isRecord(data) ? data['.dockerconfigjson'] : undefined;
    if (typeof raw !== 'string') return `Secret "${name}" is invalid: data[.dockerconfigjson]: Required value`;
    if (safeJson(Buffer.from(raw, 'base64').toString('utf8')) === undefined)
      return `Secret "${name}" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid JSON`;
  }
  return undefined;
}

function status(
  code: number,
  reason: string,
  message: string,
  details?: { name?: string | undefined; kind: string },
): Answer {
  return {
    status: code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: code < 400 ? 'Success' : 'Failure',
      message,
      reason,
      ...(details === undefined ? {} : { details }),
      code,
    },
  };
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
