import type { IncomingMessage } from 'node:http';
import type { AwsState, Repository } from '../aws/state.ts';
import { type Answer, answer, registryError } from './answers.ts';
import { type Caller, permit, type Target } from './auth.ts';
import type { EcrRegistryLog } from './registry.ts';
import { ACTIONS, DIGEST, type EcrLimits, REPOSITORY_NAME } from './rules.ts';
import type { BlobStore } from './store.ts';
import { type PartClaim, UploadSession } from './uploads.ts';

/** What the upload routes share with the registry. */
export interface UploadContext {
  readonly state: AwsState;
  readonly store: BlobStore;
  readonly limits: EcrLimits;
  readonly sessions: Map<string, UploadSession>;
  readonly log: EcrRegistryLog;
}

/** An answer, and whether the request body was left unread (the connection may then have to close). */
export interface Reply {
  readonly answer: Answer;
  readonly bodyUnread: boolean;
}

function sessionHeaders(session: UploadSession, name: string): Record<string, string> {
  return {
    location: `/v2/${name}/blobs/uploads/${session.id}`,
    'docker-upload-uuid': session.id,
    range: session.staleRange(),
    'content-length': '0',
  };
}

/** `POST /v2/<name>/blobs/uploads/`, with or without `?mount=&from=`. */
export async function startUpload(
  ctx: UploadContext,
  url: URL,
  repository: Repository,
  target: Target,
  caller: Caller,
): Promise<Answer> {
  const mounted = mount(ctx, url, repository, target, caller);
  if (mounted !== undefined) return mounted;
  const session = await UploadSession.open(`${repository.account}/${repository.name}`, await ctx.store.uploadPath());
  ctx.sessions.set(session.id, session);
  return answer(202, sessionHeaders(session, repository.name));
}

/**
 * ECR's blob mounting is opt-in per account (announced 2026-01): with it on, a mount from a
 * repository of the same registry succeeds when a manifest there references the blob. Without it, or
 * when the blob cannot be mounted, ECR opens an upload session as for a plain POST.
 */
function mount(
  ctx: UploadContext,
  url: URL,
  repository: Repository,
  target: Target,
  caller: Caller,
): Answer | undefined {
  const digest = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (digest === null || from === null || !ctx.state.ecrBlobMounting.has(target.account)) return undefined;
  if (!DIGEST.test(digest) || !REPOSITORY_NAME.test(from)) return undefined;
  const denied = permit(ctx.state, caller, target, ACTIONS.getBlob, from);
  if (denied !== undefined) return denied;
  const source = ctx.state.repositories.get(`${target.account}/${from}`);
  const referenced =
    source !== undefined && [...source.images.values()].some((image) => image.references.includes(digest));
  if (!referenced || ctx.store.any(digest) === undefined) return undefined;
  ctx.store.give(`${repository.account}/${repository.name}`, digest);
  return answer(201, {
    location: `/v2/${repository.name}/blobs/${digest}`,
    'docker-content-digest': digest,
    'content-length': '0',
  });
}

/** The session an upload URL names, if it belongs to this repository. */
export function sessionOf(ctx: UploadContext, repository: Repository, id: string): UploadSession | undefined {
  const session = ctx.sessions.get(id);
  return session?.repository === `${repository.account}/${repository.name}` ? session : undefined;
}

export function uploadUnknown(): Answer {
  return registryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
}

/** `GET` an upload URL: 204 with the same stale Range the PATCHes got (strict: ECR never tells the true offset). */
export function uploadStatus(session: UploadSession, repository: Repository): Answer {
  return answer(204, sessionHeaders(session, repository.name));
}

/** `PATCH` an upload URL: one part. ECR answers 201, not 202 (openai/tart#273, jdx/mise#11376). */
export async function patchUpload(
  ctx: UploadContext,
  req: IncomingMessage,
  session: UploadSession,
  repository: Repository,
): Promise<Reply> {
  const claim = claimOf(req, false);
  if (claim === undefined)
    return {
      answer: registryError(400, 'BLOB_UPLOAD_INVALID', 'malformed Content-Range or Content-Length'),
      bodyUnread: true,
    };
  const part = await takePart(ctx, req, session, repository, claim);
  if ('answer' in part) return part;
  record(ctx, session, repository, part, 201);
  return { answer: answer(201, sessionHeaders(session, repository.name)), bodyUnread: false };
}

/** `PUT` an upload URL with `?digest=`: an optional last part, then the whole blob's sha256 is checked. */
export async function completeUpload(
  ctx: UploadContext,
  req: IncomingMessage,
  url: URL,
  session: UploadSession,
  repository: Repository,
): Promise<Reply> {
  const digest = url.searchParams.get('digest') ?? '';
  if (!DIGEST.test(digest))
    return { answer: registryError(400, 'DIGEST_INVALID', `invalid digest '${digest}'`), bodyUnread: true };
  const claim = claimOf(req, true);
  if (claim === undefined)
    return {
      answer: registryError(400, 'BLOB_UPLOAD_INVALID', 'malformed Content-Range or Content-Length'),
      bodyUnread: true,
    };
  const hasBody =
    claim.range !== undefined || (claim.contentLength ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  const part = hasBody ? await takePart(ctx, req, session, repository, claim) : undefined;
  if (part !== undefined && 'answer' in part) return part;
  const actual = session.digest();
  if (actual !== digest) {
    if (part !== undefined) record(ctx, session, repository, part, 400);
    return {
      answer: registryError(400, 'DIGEST_INVALID', `the layer's digest is ${actual}, not ${digest}`),
      bodyUnread: false,
    };
  }
  if (part !== undefined) record(ctx, session, repository, part, 201);
  ctx.sessions.delete(session.id);
  await session.close();
  const blob = await ctx.store.adopt(session.repository, digest, session.path);
  ctx.log.blobs.push({ repository: repository.name, digest, size: blob.size, parts: session.parts });
  return {
    answer: answer(201, {
      location: `/v2/${repository.name}/blobs/${digest}`,
      'docker-content-digest': digest,
      'content-length': '0',
    }),
    bodyUnread: false,
  };
}

interface StoredPart {
  readonly start: number;
  readonly length: number;
  readonly streamed: boolean;
}

function record(
  ctx: UploadContext,
  session: UploadSession,
  repository: Repository,
  part: StoredPart,
  status: number,
): void {
  ctx.log.parts.push({ upload: session.id, repository: repository.name, ...part, status });
}

/** Check and read one part: the refusal (logged here), or the part stored (the caller logs its answer). */
async function takePart(
  ctx: UploadContext,
  req: IncomingMessage,
  session: UploadSession,
  repository: Repository,
  claim: PartClaim,
): Promise<Reply | StoredPart> {
  const start = claim.range?.start ?? session.held;
  const streamed = claim.range === undefined && session.held === 0 && session.parts === 0;
  const claimed = claim.range === undefined ? (claim.contentLength ?? 0) : claim.range.end - claim.range.start + 1;
  const refused = session.refuse(claim, ctx.limits);
  if (refused !== undefined) {
    if (refused.kind === 'http') record(ctx, session, repository, { start, length: claimed, streamed }, refused.status);
    return { answer: refused, bodyUnread: true };
  }
  const taken = await session.take(req, claim, ctx.limits);
  if ('stored' in taken) return { start, length: taken.stored, streamed };
  // A part cut off mid-request did not arrive whole: it is neither stored nor logged.
  if (taken.kind === 'http') record(ctx, session, repository, { start, length: claimed, streamed }, taken.status);
  return { answer: taken, bodyUnread: !req.complete };
}

/** The part a request announces; undefined when its headers are malformed. */
function claimOf(req: IncomingMessage, final: boolean): PartClaim | undefined {
  const lengthHeader = req.headers['content-length'];
  const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (contentLength !== undefined && !Number.isSafeInteger(contentLength)) return undefined;
  const rangeHeader = req.headers['content-range'];
  if (rangeHeader === undefined) return { range: undefined, contentLength, final };
  // The distribution spec's form, `<start>-<end>`, which is what ECR parses.
  const match = /^(\d+)-(\d+)$/.exec(rangeHeader);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { range: { start: Number(match[1]), end: Number(match[2]) }, contentLength, final };
}
