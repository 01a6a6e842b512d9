import type { IncomingMessage } from 'node:http';
import * as v from 'valibot';
import { indexSchema, manifestSchema } from '../../../src/image/schemas.ts';
import { MEDIA_TYPES } from '../../../src/registry/manifest.ts';
import { sha256 } from '../../../src/util/sha256.ts';
import type { AwsState, Repository } from '../aws/state.ts';
import { type Answer, answer, registryError } from './answers.ts';
import { DIGEST, type EcrLimits } from './rules.ts';
import type { BlobStore } from './store.ts';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const IMAGE_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];

export interface PutOutcome {
  readonly answer: Answer;
  readonly digest: string;
  readonly layers: number;
  /** The body was refused before it was read to the end. */
  readonly bodyUnread: boolean;
}

interface Parsed {
  readonly mediaType: string;
  readonly blobs: readonly { digest: string; size: number }[];
  readonly children: readonly string[];
  readonly layers: number;
}

/** `PUT /v2/<name>/manifests/<reference>` with ECR's checks, in the order a push meets them. */
export async function putManifest(
  state: AwsState,
  store: BlobStore,
  limits: EcrLimits,
  req: IncomingMessage,
  repository: Repository,
  reference: string,
): Promise<PutOutcome> {
  const read = await readLimited(req, limits.maxManifestBytes);
  const refuse = (reply: Answer, digest = '', layers = 0): PutOutcome => ({
    answer: reply,
    digest,
    layers,
    bodyUnread: read === undefined,
  });
  // The image manifest size quota: 4 MiB ("Amazon ECR service quotas").
  if (read === undefined)
    return refuse(registryError(400, 'MANIFEST_INVALID', `manifest exceeds the ${limits.maxManifestBytes} byte limit`));
  const digest = sha256(read);
  const parsed = parse(read, contentType(req));
  if (typeof parsed === 'string') return refuse(registryError(400, 'MANIFEST_INVALID', parsed), digest);
  if (parsed.layers > limits.maxLayersPerImage) {
    // Undocumented limit, measured at 500 (openai/tart#890, spinframework/spin#1787, nuonco/nuon#2348).
    const message =
      "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Limit on number of layers per image exceeded'";
    return refuse(registryError(405, 'UNSUPPORTED', message), digest, parsed.layers);
  }
  const key = `${repository.account}/${repository.name}`;
  const unknownBlob = parsed.blobs.find((blob) => store.get(key, blob.digest) === undefined);
  if (unknownBlob !== undefined)
    return refuse(
      registryError(400, 'MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${unknownBlob.digest}`),
      digest,
      parsed.layers,
    );
  const unknownChild = parsed.children.find((child) => !repository.images.has(child));
  if (unknownChild !== undefined)
    return refuse(
      registryError(400, 'MANIFEST_BLOB_UNKNOWN', `manifest unknown to registry: ${unknownChild}`),
      digest,
      parsed.layers,
    );
  const byDigest = DIGEST.test(reference);
  if (byDigest && reference !== digest)
    return refuse(
      registryError(400, 'DIGEST_INVALID', `the manifest's digest is ${digest}, not ${reference}`),
      digest,
      parsed.layers,
    );
  if (!byDigest && !TAG.test(reference))
    return refuse(registryError(400, 'TAG_INVALID', `invalid tag '${reference}'`), digest, parsed.layers);
  const existing = byDigest ? undefined : repository.tagDigests.get(reference);
  if (repository.imageTagMutability === 'IMMUTABLE' && existing !== undefined && existing !== digest) {
    const message = `The image tag '${reference}' already exists in the '${repository.name}' repository and cannot be overwritten because the repository is immutable.`;
    return refuse(registryError(400, 'TAG_INVALID', message), digest, parsed.layers);
  }
  const sizeInBytes = read.length + parsed.blobs.reduce((sum, blob) => sum + blob.size, 0);
  const references = [...parsed.blobs.map((blob) => blob.digest), ...parsed.children];
  state.putImage(
    repository,
    { digest, mediaType: parsed.mediaType, manifest: read, references, sizeInBytes, pushedAt: state.now() },
    byDigest ? undefined : reference,
  );
  const headers = { 'docker-content-digest': digest, location: `/v2/${repository.name}/manifests/${digest}` };
  return { answer: answer(201, headers), digest, layers: parsed.layers, bodyUnread: false };
}

/** `GET`/`HEAD /v2/<name>/manifests/<reference>`: the stored bytes with their own media type. */
export function getManifest(repository: Repository, reference: string): Answer {
  const digest = DIGEST.test(reference) ? reference : repository.tagDigests.get(reference);
  const image = digest === undefined ? undefined : repository.images.get(digest);
  if (image === undefined) return registryError(404, 'MANIFEST_UNKNOWN', 'Requested image not found');
  return answer(
    200,
    { 'content-type': image.mediaType, 'docker-content-digest': image.digest },
    image.manifest.toString('utf8'),
  );
}

/** The bytes of `req`, or undefined when more than `limit` arrive (reading stops there). */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  // By hand, as in sparse.ts: leaving a `for await` early would destroy the socket the 400 goes out on.
  const body = req[Symbol.asyncIterator]();
  for (let next = await body.next(); next.done !== true; next = await body.next()) {
    const chunk: unknown = next.value;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += bytes.length;
    if (total > limit) return undefined;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

function contentType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
}

/** The manifest's references, or why ECR refuses it. The Content-Type must name the body's mediaType. */
function parse(bytes: Buffer, type: string): Parsed | string {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return `manifest is not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  const mediaType =
    typeof json === 'object' && json !== null && 'mediaType' in json && typeof json.mediaType === 'string'
      ? json.mediaType
      : undefined;
  if (mediaType === undefined || mediaType !== type)
    return `the Content-Type '${type}' is not the manifest's mediaType '${mediaType ?? 'absent'}'`;
  if (IMAGE_TYPES.includes(mediaType)) {
    const image = v.safeParse(manifestSchema, json);
    if (!image.success) return `invalid image manifest: ${image.issues[0].message}`;
    return {
      mediaType,
      blobs: [image.output.config, ...image.output.layers],
      children: [],
      layers: image.output.layers.length,
    };
  }
  if (INDEX_TYPES.includes(mediaType)) {
    const index = v.safeParse(indexSchema, json);
    if (!index.success) return `invalid image index: ${index.issues[0].message}`;
    return { mediaType, blobs: [], children: index.output.manifests.map((m) => m.digest), layers: 0 };
  }
  return `unsupported manifest media type '${mediaType}'`;
}
