import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeCertificates } from '../../support/registry.ts';
import { KubeState, type User } from './state.ts';
import { isRecord } from './validation.ts';

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

import { accessReview, rulesReview } from './authz.ts';
import { discovery, findResource, VERSION } from './discovery.ts';
import { openApiDocument, openApiProtobuf } from './openapi.ts';
import { isAllowed, type ResourceRequest, serveResource, verbOf } from './resources.ts';
import { type Answer, status } from './status.ts';
import { serveWatch } from './watch.ts';

/** The API server's request size limit: https://github.com/kubernetes/kubernetes/issues/74600 (3 MiB). */
const MAX_BODY = 3 * 1024 * 1024;

/**
 * A Kubernetes API server on loopback, strict enough for the real @kubernetes/client-node and for
 * kubectl: discovery, /version and /openapi/v2; core/v1 Secrets, ServiceAccounts, Namespaces and Nodes,
 * batch/v1 CronJobs, rbac/v1 Roles and RoleBindings; SelfSubjectAccessReview, SelfSubjectRulesReview and
 * SelfSubjectReview; bearer-token users with RBAC rules; one increasing resourceVersion; JSON, merge and
 * strategic-merge patches; Secret validation; dryRun; generateName; selectors; watch; server-side
 * tables; Status errors as the API server words them; and injected faults. A request it cannot serve is
 * answered (400, 415, 500), never a crash.
 */
export async function startKubeApiServer(
  options: { readonly namespaces?: readonly string[] } = {},
): Promise<KubeApiServer> {
  const state = new KubeState();
  for (const namespace of options.namespaces ?? []) state.addNamespace(namespace);
  // HTTPS with a throwaway CA, as a cluster serves it: the client refuses plain HTTP without skipTLSVerify.
  const certs = await mkdtemp(join(tmpdir(), 'kube-emu-tls-'));
  const { ca } = await writeCertificates(certs);
  const [cert, key] = await Promise.all([readFile(join(certs, 'server.pem')), readFile(join(certs, 'server.key'))]);
  await rm(certs, { recursive: true, force: true });
  const server = createServer({ cert, key }, (req, res) => {
    handle(state, req, res).catch((error: unknown) => {
      // The double's own bug: answer 500 for this request and keep serving the others.
      if (!res.headersSent) send(res, status(500, 'InternalError', `the double failed: ${String(error)}`));
      else res.destroy();
    });
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
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size <= MAX_BODY) chunks.push(buffer);
  }
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const user = token === undefined ? undefined : state.users.get(token);
  const fault = state.takeFault(method, path);
  let answer: Answer | undefined;
  if (fault !== undefined)
    answer = status(
      fault.status,
      fault.status === 429 ? 'TooManyRequests' : 'InternalError',
      `injected ${fault.status}`,
    );
  else if (user === undefined) answer = status(401, 'Unauthorized', 'Unauthorized');
  else if (size > MAX_BODY) answer = status(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
  else {
    const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    answer = route(
      state,
      user,
      { method, url, body, contentType, accept: req.headers.accept, host: req.headers.host },
      res,
    );
  }
  state.log.push({ method, path, user: user?.name, status: answer?.status ?? 200 });
  if (answer === undefined) return; // a watch streams on
  if (path === '/openapi/v2' && answer.status === 200 && /protobuf/.test(req.headers.accept ?? '')) {
    const bytes = openApiProtobuf();
    res.writeHead(200, {
      // The API server labels it application/octet-stream: the spec's own media type has an '@' Go's mime parser refuses.
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
    });
    res.end(bytes);
    return;
  }
  send(res, answer);
}

function send(res: ServerResponse, answer: Answer): void {
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

interface Incoming {
  readonly method: string;
  readonly url: URL;
  readonly body: Buffer | undefined;
  readonly contentType: string;
  readonly accept: string | undefined;
  readonly host: string | undefined;
}

const REVIEWS: Record<string, (state: KubeState, user: User, body: unknown) => unknown> = {
  '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews': accessReview,
  '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews': (_state, user, body) => rulesReview(user, body),
  '/apis/authentication.k8s.io/v1/selfsubjectreviews': (_state, user) => ({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    metadata: { creationTimestamp: null },
    status: { userInfo: { username: user.name, groups: user.groups } },
  }),
};

function route(state: KubeState, user: User, req: Incoming, res: ServerResponse): Answer | undefined {
  const { method, url } = req;
  const path = url.pathname;
  if (method === 'GET') {
    if (path === '/version') return { status: 200, body: VERSION };
    if (path === '/openapi/v2') return { status: 200, body: openApiDocument() };
    if (path === '/healthz' || path === '/livez' || path === '/readyz') return { status: 200, body: 'ok' };
    const document = discovery(path, req.host ?? '127.0.0.1');
    if (document !== undefined) return { status: 200, body: document };
  }
  const review = REVIEWS[path];
  if (review !== undefined) {
    if (method !== 'POST')
      return status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (req.contentType.includes('protobuf')) return unsupported();
    let body: unknown;
    try {
      body = JSON.parse(req.body?.toString('utf8') ?? '{}');
    } catch (error) {
      return status(400, 'BadRequest', `couldn't get version/kind; json parse error: ${String(error)}`);
    }
    if (!isRecord(body)) return status(400, 'BadRequest', 'the body of the request must be an object');
    return { status: 201, body: review(state, user, body) };
  }
  // /api/v1[/namespaces/NS]/RESOURCE[/NAME] and /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME]
  const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(path);
  const spec = match === null ? undefined : findResource(match[2] ?? '', match[1] ?? match[3] ?? '', match[5] ?? '');
  if (match === null || spec === undefined || spec.virtual === true || (!spec.namespaced && match[4] !== undefined))
    return status(404, 'NotFound', 'the server could not find the requested resource');
  const namespace = match[4];
  const name = match[6];
  const verb = verbOf(method, name, url.searchParams);
  if (verb === undefined || (spec.namespaced && namespace === undefined && verb !== 'list' && verb !== 'watch'))
    return status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  if ((method === 'POST' || method === 'PUT') && req.contentType.includes('protobuf')) return unsupported();
  const request: ResourceRequest = {
    method,
    spec,
    namespace,
    name,
    query: url.searchParams,
    contentType: req.contentType,
    accept: req.accept,
    body: req.body,
    user,
  };
  const denied = isAllowed(state, request, verb);
  if (denied !== undefined) return denied;
  if (verb === 'watch') return serveWatch(state, request, res);
  return serveResource(state, request, verb);
}

/** The double speaks JSON and YAML only; a protobuf body is refused rather than misread. */
function unsupported(): Answer {
  return status(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
  );
}
