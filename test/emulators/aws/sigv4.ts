import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** A request as the emulator's HTTP server received it. */
export interface SignedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type Verification =
  | { readonly ok: true; readonly accessKeyId: string; readonly region: string; readonly service: string }
  | {
      readonly ok: false;
      readonly code:
        | 'MissingAuthenticationToken'
        | 'InvalidClientTokenId'
        | 'SignatureDoesNotMatch'
        | 'IncompleteSignature'
        | 'SignatureExpired';
      readonly message: string;
      readonly accessKeyId?: string;
    };

/** How far a request's X-Amz-Date may be from the service's clock. */
const MAX_SKEW_MS = 15 * 60_000;

/**
 * Verify an AWS Signature Version 4 `Authorization` header for real, written from the specification
 * (not from the SDK), so a test passing proves the SDK signs what AWS would accept. `now` is the
 * service's clock: a signature dated more than 15 minutes from it is refused.
 */
export function verifySigV4(
  req: SignedRequest,
  secretFor: (accessKeyId: string) => string | undefined,
  now: Date,
): Verification {
  const authorization = header(req.headers, 'authorization');
  if (authorization === undefined)
    return { ok: false, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (match === null)
    return {
      ok: false,
      code: 'IncompleteSignature',
      message: 'Authorization header requires Credential, SignedHeaders and Signature',
    };
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
  const secret = secretFor(accessKeyId);
  if (secret === undefined)
    return {
      ok: false,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      accessKeyId,
    };
  const amzDate = header(req.headers, 'x-amz-date') ?? '';
  if (!amzDate.startsWith(date))
    return { ok: false, code: 'IncompleteSignature', message: 'Date in Credential scope does not match X-Amz-Date' };
  const url = new URL(req.url, 'http://emulator');
  const names = signedHeaders.split(';');
  if (!names.includes('host'))
    return { ok: false, code: 'IncompleteSignature', message: 'host must be a signed header' };
  const canonicalHeaders = names
    .map((name) => `${name}:${(header(req.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = header(req.headers, 'x-amz-content-sha256') ?? sha256Hex(req.body);
  const canonicalRequest = [
    req.method,
    canonicalPath(url.pathname),
    canonicalQuery(url.searchParams),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(Buffer.from(canonicalRequest))].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
      accessKeyId,
    };
  }
  const skew = skewOf(amzDate, now);
  if (skew !== undefined) return { ok: false, code: 'SignatureExpired', message: skew, accessKeyId };
  return { ok: true, accessKeyId, region, service };
}

/**
 * AWS refuses a request signed more than 15 minutes from its clock, with these words (the error
 * code is the protocol's: see server.ts). Sources: "Signature expired: 20220127T001427Z is now
 * earlier than 20220127T014428Z (20220127T015928Z - 15 min.)" from STS (github.com/aws/aws-cli/issues/6676),
 * the same from ECR (github.com/upmc-enterprises/registry-creds/issues/47), and "Signature not yet
 * current: … is still later than … (… + 5 min.)" for a request from the future
 * (github.com/s12v/awsbeats/issues/48); the 15-minute window is in
 * https://docs.aws.amazon.com/general/latest/gr/signature-v4-troubleshooting.html.
 */
function skewOf(amzDate: string, now: Date): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (match === null) return `Invalid X-Amz-Date: ${amzDate}`;
  const [, y, mo, d, h, mi, se] = match.map(Number);
  const signedAt = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, se ?? 0);
  if (signedAt < now.getTime() - MAX_SKEW_MS)
    return `Signature expired: ${amzDate} is now earlier than ${basic(now.getTime() - MAX_SKEW_MS)} (${basic(now.getTime())} - 15 min.)`;
  if (signedAt > now.getTime() + MAX_SKEW_MS)
    return `Signature not yet current: ${amzDate} is still later than ${basic(now.getTime() + MAX_SKEW_MS)} (${basic(now.getTime())} + 15 min.)`;
  return undefined;
}

/** `20220127T014428Z`, the basic ISO 8601 form SigV4 dates use. */
function basic(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

// RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone).
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string): string {
  return (
    path
      .split('/')
      .map((segment) => encode(decodeURIComponent(segment)))
      .join('/') || '/'
  );
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params.entries()]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
