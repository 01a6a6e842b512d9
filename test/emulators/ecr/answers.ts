import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeXml } from '../aws/protocols.ts';

/** What the handler decided; `cut` destroys the connection without an HTTP answer; `file` streams a blob's bytes. */
export type Answer =
  | { readonly kind: 'http'; readonly status: number; readonly headers: Record<string, string>; readonly body: string }
  | {
      readonly kind: 'file';
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly path: string;
      readonly start: number;
      readonly end: number;
    }
  | { readonly kind: 'cut' };

export function answer(status: number, headers: Record<string, string> = {}, body = ''): Answer {
  return { kind: 'http', status, headers, body };
}

/** The distribution API's error body, which ECR's proxy uses for every registry error. */
export function registryError(status: number, code: string, message: string): Answer {
  return answer(
    status,
    { 'content-type': 'application/json; charset=utf-8' },
    JSON.stringify({ errors: [{ code, message }] }),
  );
}

export function notAuthorized(host: string): Answer {
  return answer(
    401,
    {
      'www-authenticate': `Basic realm="https://${host}/",service="ecr.amazonaws.com"`,
      'content-type': 'text/plain; charset=utf-8',
    },
    'Not Authorized\n',
  );
}

/** S3's error body: the layer downloads come from a presigned S3 URL. */
export function s3Error(status: number, code: string, message: string): Answer {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>`;
  return answer(status, { 'content-type': 'application/xml' }, body);
}

export const CUT: Answer = { kind: 'cut' };

/**
 * Write `answer`. A request body nobody read is left to node, which discards it on a kept-alive
 * connection; a large or unbounded one closes the connection instead, so a refused 50 GB part is
 * not read to the end.
 */
export function send(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Answer,
  bodyUnread: boolean,
): number | undefined {
  if (reply.kind === 'cut') {
    req.socket.destroy();
    return undefined;
  }
  const declared = req.headers['content-length'];
  const unbounded =
    declared === undefined ? req.headers['transfer-encoding'] !== undefined : !(Number(declared) <= 16 * 1024 * 1024);
  const close = bodyUnread && !req.complete && unbounded;
  if (reply.kind === 'file') {
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.end - reply.start + 1) });
    if (req.method === 'HEAD' || reply.end < reply.start) {
      res.end();
      return reply.status;
    }
    const bytes = createReadStream(reply.path, { start: reply.start, end: reply.end, highWaterMark: 1024 * 1024 });
    // A blob file that fails mid-way can only be reported by cutting the response short.
    bytes.on('error', () => res.destroy());
    bytes.pipe(res);
    return reply.status;
  }
  const omitBody = req.method === 'HEAD';
  res.writeHead(reply.status, {
    ...reply.headers,
    ...(close ? { connection: 'close' } : {}),
    ...(reply.headers['content-length'] === undefined
      ? { 'content-length': String(Buffer.byteLength(reply.body)) }
      : {}),
  });
  res.end(omitBody ? undefined : reply.body);
  return reply.status;
}
