import type { IncomingMessage } from 'node:http';
import { answer, CUT, registryError } from './answers.ts';
import { type Caller, permit, type Target } from './auth.ts';
import { headBlob, type LayerUrls } from './blobs.ts';
import { getManifest, putManifest } from './manifests.ts';
import { ACTIONS, REPOSITORY_NAME } from './rules.ts';
import {
  completeUpload,
  patchUpload,
  type Reply,
  sessionOf,
  startUpload,
  type UploadContext,
  uploadStatus,
  uploadUnknown,
} from './upload-routes.ts';

export interface RegistryContext extends UploadContext {
  readonly layers: LayerUrls;
  /** `https://prod-<region>-starport-layer-bucket.s3.<region>.amazonaws.com`, or a loopback stand-in. */
  readonly storageOrigin: string;
}

type Route =
  | { readonly kind: 'base' }
  | { readonly kind: 'uploads'; readonly name: string }
  | { readonly kind: 'upload'; readonly name: string; readonly id: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'tags'; readonly name: string };

const PATTERNS: readonly [RegExp, (name: string, last: string) => Route][] = [
  [/^\/v2\/(.+)\/blobs\/uploads\/?()$/, (name) => ({ kind: 'uploads', name })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (name, id) => ({ kind: 'upload', name, id })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: 'blob', name, digest })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (name, reference) => ({ kind: 'manifest', name, reference })],
  [/^\/v2\/(.+)\/tags\/list()$/, (name) => ({ kind: 'tags', name })],
];

function routeOf(path: string): Route | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  for (const [pattern, build] of PATTERNS) {
    const match = pattern.exec(path);
    if (match?.[1] !== undefined && match[2] !== undefined) return build(match[1], match[2]);
  }
  return undefined;
}

/** The IAM action a request needs (ECR user guide, "Amazon ECR repository policies"), or undefined when ECR does not serve it. */
function actionOf(route: Route, method: string): string | undefined {
  const table: Record<Route['kind'], Record<string, string>> = {
    base: {},
    uploads: { POST: ACTIONS.startUpload },
    upload: {
      PATCH: ACTIONS.uploadPart,
      PUT: ACTIONS.completeUpload,
      GET: ACTIONS.uploadPart,
      DELETE: ACTIONS.uploadPart,
    },
    blob: { HEAD: ACTIONS.headBlob, GET: ACTIONS.getBlob },
    manifest: { PUT: ACTIONS.putManifest, GET: ACTIONS.getManifest, HEAD: ACTIONS.getManifest },
    tags: { GET: ACTIONS.listTags },
  };
  return table[route.kind][method];
}

const WRITES = new Set(['POST', 'PATCH', 'PUT']);

/** One authenticated registry request: route, IAM decision, repository, then the operation. */
export async function routeRequest(
  ctx: RegistryContext,
  req: IncomingMessage,
  url: URL,
  target: Target,
  caller: Caller,
): Promise<Reply> {
  const method = req.method ?? 'GET';
  const route = routeOf(url.pathname);
  const refuse = (status: number, code: string, message: string): Reply => ({
    answer: registryError(status, code, message),
    bodyUnread: true,
  });
  if (route === undefined) return refuse(404, 'NOT_FOUND', `no route for ${url.pathname}`);
  if (route.kind === 'base')
    return method === 'GET' || method === 'HEAD'
      ? {
          answer: answer(
            200,
            { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' },
            '{}',
          ),
          bodyUnread: true,
        }
      : refuse(405, 'UNSUPPORTED', `${method} /v2/`);
  if (!REPOSITORY_NAME.test(route.name)) return refuse(400, 'NAME_INVALID', `invalid repository name '${route.name}'`);
  const action = actionOf(route, method);
  if (action === undefined) return refuse(405, 'UNSUPPORTED', `ECR does not serve ${method} here`);
  const denied = permit(ctx.state, caller, target, action, route.name);
  if (denied !== undefined) return { answer: denied, bodyUnread: true };
  const repository = ctx.state.repositories.get(`${target.account}/${route.name}`);
  if (repository === undefined) {
    // ECR drops the connection on a write to a repository that does not exist, with no HTTP answer
    // (dotnet/sdk-container-builds#279); reads get NAME_UNKNOWN.
    if (WRITES.has(method)) return { answer: CUT, bodyUnread: true };
    return refuse(
      404,
      'NAME_UNKNOWN',
      `The repository with name '${route.name}' does not exist in the registry with id '${target.account}'`,
    );
  }
  switch (route.kind) {
    case 'uploads':
      return { answer: await startUpload(ctx, url, repository, target, caller), bodyUnread: true };
    case 'upload': {
      const session = sessionOf(ctx, repository, route.id);
      if (session === undefined) return { answer: uploadUnknown(), bodyUnread: true };
      if (method === 'PATCH') return patchUpload(ctx, req, session, repository);
      if (method === 'PUT') return completeUpload(ctx, req, url, session, repository);
      if (method === 'GET') return { answer: uploadStatus(session, repository), bodyUnread: true };
      ctx.sessions.delete(session.id);
      await session.discard();
      return { answer: answer(204), bodyUnread: true };
    }
    case 'blob':
      if (method === 'HEAD')
        return {
          answer: headBlob(ctx.store, `${repository.account}/${repository.name}`, route.digest),
          bodyUnread: true,
        };
      return {
        answer: ctx.layers.redirect(
          ctx.store,
          `${repository.account}/${repository.name}`,
          route.digest,
          ctx.storageOrigin,
          ctx.state.now(),
        ),
        bodyUnread: true,
      };
    case 'manifest': {
      if (method !== 'PUT') return { answer: getManifest(repository, route.reference), bodyUnread: true };
      const put = await putManifest(ctx.state, ctx.store, ctx.limits, req, repository, route.reference);
      const status = put.answer.kind === 'http' ? put.answer.status : 0;
      ctx.log.manifests.push({
        repository: repository.name,
        reference: route.reference,
        digest: put.digest,
        layers: put.layers,
        status,
      });
      return { answer: put.answer, bodyUnread: put.bodyUnread };
    }
    case 'tags':
      return {
        answer: answer(
          200,
          { 'content-type': 'application/json' },
          JSON.stringify({ name: repository.name, tags: [...repository.tagDigests.keys()].sort() }),
        ),
        bodyUnread: true,
      };
  }
}
