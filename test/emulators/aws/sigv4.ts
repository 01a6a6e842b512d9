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
        'MissingAuthenticationToken' | 'InvalidClientTokenId' | 'SignatureDoesNotMatch' | 'IncompleteSignature';
      readonly message: string;
      readonly accessKeyId?: string;
    };

/**
 * Verify an AWS Signature Version 4 `Authorization` header for real, written from the specification
 * (not from the SDK), so a test passing proves the SDK signs what AWS would accept.
 */
export function verifySigV4(req: SignedRequest, secretFor: (accessKeyId: string) => string | undefined): Verification {
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
  return { ok: true, accessKeyId, region, service };
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
