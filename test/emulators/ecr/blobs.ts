import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Answer, answer, registryError, s3Error } from './answers.ts';
import type { BlobStore } from './store.ts';

/** How long a layer URL stays valid. ECR does not document it; one hour, as S3 presigning commonly is. */
const URL_LIFETIME_SECONDS = 3600;

/** `HEAD /v2/<name>/blobs/<digest>`: 200 with size and digest, or 404 without a body. */
export function headBlob(store: BlobStore, repository: string, digest: string): Answer {
  const blob = store.get(repository, digest);
  if (blob === undefined) return answer(404, { 'content-length': '0' });
  return answer(200, {
    'content-length': String(blob.size),
    'docker-content-digest': digest,
    'content-type': 'application/octet-stream',
  });
}

/**
 * Layer downloads: ECR answers `GET /v2/<name>/blobs/<digest>` with a 307 to a presigned URL on
 * another host, its region's S3 bucket `prod-<region>-starport-layer-bucket.s3.<region>.amazonaws.com`
 * (the example in `aws ecr get-download-url-for-layer help`; firewall allow-lists name the same host).
 * The double serves that URL on a storage origin of its own (never the registry's: a client that
 * scopes credentials to the registry's origin must meet S3 as a stranger), checks its signature and
 * expiry, and refuses a request that also carries an Authorization header as S3 does.
 */
export class LayerUrls {
  readonly #key = randomBytes(32);
  readonly #ids = new Map<string, string>();

  redirect(store: BlobStore, repository: string, digest: string, storageOrigin: string, now: Date): Answer {
    if (store.get(repository, digest) === undefined)
      return registryError(404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    const id = randomUUID();
    this.#ids.set(id, digest);
    const date = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Date': date,
      'X-Amz-Expires': String(URL_LIFETIME_SECONDS),
      'X-Amz-SignedHeaders': 'host',
    });
    query.set('X-Amz-Signature', this.#sign(id, date));
    return answer(307, { location: `${storageOrigin}/ecr-layer/${id}?${query.toString()}`, 'content-length': '0' });
  }

  serve(store: BlobStore, req: IncomingMessage, url: URL, now: Date): Answer {
    if (req.headers.authorization !== undefined) {
      // S3 refuses a presigned URL sent with credentials too: clients that leak registry auth to storage.
      return s3Error(
        400,
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      );
    }
    const id = url.pathname.slice('/ecr-layer/'.length);
    const digest = this.#ids.get(id);
    const date = url.searchParams.get('X-Amz-Date') ?? '';
    if (digest === undefined || url.searchParams.get('X-Amz-Signature') !== this.#sign(id, date)) {
      return s3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
    }
    const signedAt = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!(signedAt + URL_LIFETIME_SECONDS * 1000 > now.getTime()))
      return s3Error(403, 'AccessDenied', 'Request has expired');
    const blob = store.any(digest);
    if (blob === undefined) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    const headers = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: `"${digest.slice(7, 39)}"`,
    };
    const range = req.headers.range;
    if (range === undefined)
      return { kind: 'file', status: 200, headers, path: blob.path, start: 0, end: blob.size - 1 };
    const match = /^bytes=(\d+)-(\d*)$/.exec(range);
    const start = Number(match?.[1] ?? 'NaN');
    const end = match?.[2] === undefined || match[2] === '' ? blob.size - 1 : Math.min(Number(match[2]), blob.size - 1);
    if (!(start <= end)) return s3Error(416, 'InvalidRange', 'The requested range is not satisfiable');
    return {
      kind: 'file',
      status: 206,
      headers: { ...headers, 'content-range': `bytes ${start}-${end}/${blob.size}` },
      path: blob.path,
      start,
      end,
    };
  }

  #sign(id: string, date: string): string {
    return createHmac('sha256', this.#key).update(`${id}\n${date}`).digest('hex');
  }
}

/** The S3 host ECR's layer URLs point at, in `region`. */
export function ecrStorageHost(region: string): string {
  return `prod-${region}-starport-layer-bucket.s3.${region}.amazonaws.com`;
}
