import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  dropAfterBytes,
  holdAfterBytes,
  respond,
  rewriteResponse,
  startFaultProxy,
  status416,
  type FaultProxy,
  type ProxiedResponse,
} from './fault-proxy.ts';
import { startRegistry, type RegistryHandle } from './registry.ts';

const UPLOADS = /\/blobs\/uploads\//;
const OCTETS = { 'content-type': 'application/octet-stream' };

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

async function send(
  url: string,
  method: string,
  body?: Buffer | Readable,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await request(url, {
    method,
    headers: body === undefined ? headers : { ...OCTETS, ...headers },
    ...(body !== undefined && { body }),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function location(answer: Answer): string {
  const value = answer.headers.location;
  if (typeof value !== 'string') throw new Error(`no Location in a ${answer.status} answer`);
  return value;
}

// A hang bound, not a speed limit: these effects take milliseconds, but the registry is another
// process and a busy machine may not schedule it for seconds (50 polls, about 2 s, were too few).
const UNTIL_BOUND_MS = 30_000;

/** Poll a condition with a short backoff; for effects the registry applies after the client saw the outcome. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = performance.now() + UNTIL_BOUND_MS;
  for (let attempt = 1; !(await condition()); attempt++) {
    if (performance.now() > deadline) throw new Error(`timed out after ${UNTIL_BOUND_MS} ms waiting for ${what}`);
    await delay(Math.min(2 * attempt, 50));
  }
}

describe('fault proxy in front of a real registry', () => {
  let registry: RegistryHandle;
  let proxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry.stop());
  beforeEach(async () => {
    proxy = await startFaultProxy(registry.url);
  });
  afterEach(() => proxy.close());

  const startUpload = async (repo: string): Promise<string> =>
    location(await send(`${proxy.url}/v2/${repo}/blobs/uploads/`, 'POST'));

  /** Bytes the registry (2.8, filesystem driver) holds for an upload session. */
  const storedUploadBytes = async (repo: string, uploadUrl: string): Promise<number> => {
    const uuid = new URL(uploadUrl).pathname.split('/').at(-1) ?? '';
    const file = join(registry.dataDir, 'docker/registry/v2/repositories', repo, '_uploads', uuid, 'data');
    try {
      return (await stat(file)).size;
    } catch (error) {
      // The registry creates the file on the first write.
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 0;
      throw error;
    }
  };

  it('passes a whole upload through, pointing every Location at the proxy, and counts it', async () => {
    const data = Buffer.alloc(1000, 7);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const started = await startUpload('proxy/pass');
    expect(started.startsWith(`${proxy.url}/v2/proxy/pass/blobs/uploads/`)).toBe(true);
    const patched = await send(started, 'PATCH', data, { 'content-range': '0-999' });
    expect(patched).toMatchObject({ status: 202, headers: { range: '0-999' } });
    expect(location(patched).startsWith(proxy.url)).toBe(true);
    const committed = await send(`${location(patched)}&digest=${digest}`, 'PUT');
    expect(committed.status).toBe(201);
    expect(location(committed)).toBe(`${proxy.url}/v2/proxy/pass/blobs/${digest}`);

    // Read back from the registry directly: the proxy forwarded the bytes unchanged.
    const res = await request(`${registry.url}/v2/proxy/pass/blobs/${digest}`);
    expect(Buffer.from(await res.body.arrayBuffer())).toEqual(data);
    expect(proxy.bytesForwarded).toBe(1000);
    expect(proxy.count('PATCH', UPLOADS)).toBe(1);
    expect(proxy.count(undefined, UPLOADS)).toBe(3);
    expect(proxy.count('GET', UPLOADS)).toBe(0);
    expect(
      proxy.log.map(({ method, status, contentRange, range, fault }) => ({
        method,
        status,
        contentRange,
        range,
        fault,
      })),
    ).toEqual([
      { method: 'POST', status: 202, contentRange: undefined, range: '0-0', fault: undefined },
      { method: 'PATCH', status: 202, contentRange: '0-999', range: '0-999', fault: undefined },
      { method: 'PUT', status: 201, contentRange: undefined, range: undefined, fault: undefined },
    ]);
  });

  it('streams a request body upstream as it arrives instead of buffering it', async () => {
    const chunk = Buffer.alloc(1 << 20, 1);
    const chunks = 8;
    const upload = await startUpload('proxy/stream');
    // Each chunk is sent only once the registry has stored the previous one (less what its 4 KiB
    // write buffer holds back): a proxy that buffered the body would stall here.
    async function* body(): AsyncGenerator<Buffer> {
      for (let sent = 1; sent <= chunks; sent++) {
        yield chunk;
        await until(
          async () => (await storedUploadBytes('proxy/stream', upload)) >= sent * chunk.length - 65_536,
          `chunk ${sent} to reach the registry`,
        );
      }
    }
    const patched = await send(upload, 'PATCH', Readable.from(body()));
    expect(patched).toMatchObject({ status: 202, headers: { range: `0-${chunks * chunk.length - 1}` } });
    expect(proxy.bytesForwarded).toBe(chunks * chunk.length);
  });

  it('dropAfterBytes forwards exactly n bytes, cuts both connections, then passes through', async () => {
    const rule = proxy.inject({ method: 'PATCH', path: UPLOADS }, dropAfterBytes(10_000));
    const upload = await startUpload('proxy/drop');
    await expect(send(upload, 'PATCH', Buffer.alloc(65_536, 2))).rejects.toThrow();
    expect(proxy.bytesForwarded).toBe(10_000);
    expect(proxy.log.at(-1)).toMatchObject({
      method: 'PATCH',
      status: undefined,
      fault: 'drop',
      bytesForwarded: 10_000,
    });
    // The registry got those bytes and no more (its request was aborted, not completed)...
    await until(
      async () => (await storedUploadBytes('proxy/drop', upload)) === 10_000,
      'the registry to store the partial part',
    );
    // ...and 2.8 keeps them while the Location's _state still says offset 0: the session is unusable.
    const dead = await send(upload, 'GET');
    expect(dead.status).toBe(404);
    expect(dead.body).toContain('BLOB_UPLOAD_INVALID');

    const retried = await send(await startUpload('proxy/drop'), 'PATCH', Buffer.alloc(65_536, 2));
    expect(retried).toMatchObject({ status: 202, headers: { range: '0-65535' } });
    expect(rule).toMatchObject({ seen: 2, fired: 1 });
    expect(proxy.bytesForwarded).toBe(10_000 + 65_536);
  });

  it('dropAfterBytes(0) cuts the connection before anything reaches the registry', async () => {
    proxy.inject({ method: 'PATCH', path: UPLOADS }, dropAfterBytes(0));
    const upload = await startUpload('proxy/drop0');
    await expect(send(upload, 'PATCH', Buffer.alloc(4096, 3))).rejects.toThrow();
    expect(proxy.bytesForwarded).toBe(0);
    expect(await send(upload, 'GET')).toMatchObject({ status: 204, headers: { range: '0-0' } });
  });

  it.each([
    ['503 with Retry-After', 503, { 'Retry-After': '1' }],
    ['429 throttling', 429, { 'Retry-After': '2' }],
    [
      '401 with a Bearer challenge',
      401,
      { 'WWW-Authenticate': 'Bearer realm="http://127.0.0.1:9/token",service="registry",scope="repository:x:push"' },
    ],
    ['401 with a Basic challenge', 401, { 'WWW-Authenticate': 'Basic realm="ecr"' }],
  ])('respond answers %s the configured number of times, then passes through', async (_name, status, headers) => {
    const rule = proxy.inject({ method: 'GET', path: /^\/v2\/$/, times: 2 }, respond(status, headers, '{"errors":[]}'));
    const answers = [
      await send(`${proxy.url}/v2/`, 'GET'),
      await send(`${proxy.url}/v2/`, 'GET'),
      await send(`${proxy.url}/v2/`, 'GET'),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([status, status, 200]);
    const [name = '', value] = Object.entries(headers)[0] ?? [];
    expect(answers[0]?.headers[name.toLowerCase()]).toBe(value);
    expect(answers[0]?.body).toBe('{"errors":[]}');
    expect(answers[2]?.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(rule.fired).toBe(2);
    expect(proxy.log.map((entry) => entry.fault)).toEqual(['respond', 'respond', undefined]);
  });

  it('respond never forwards the request body', async () => {
    const upload = await startUpload('proxy/respond');
    proxy.inject({ method: 'PATCH', path: UPLOADS }, respond(503, { 'retry-after': '1' }));
    expect((await send(upload, 'PATCH', Buffer.alloc(5000, 4))).status).toBe(503);
    expect(proxy.bytesForwarded).toBe(0);
    expect(await send(upload, 'GET')).toMatchObject({ status: 204, headers: { range: '0-0' } });
  });

  it('fires from the configured occurrence and only on the configured method', async () => {
    const rule = proxy.inject({ method: 'GET', path: /^\/v2\/$/, occurrence: 2 }, respond(429));
    const statuses = [];
    for (const method of ['GET', 'HEAD', 'GET', 'GET']) statuses.push((await send(`${proxy.url}/v2/`, method)).status);
    expect(statuses).toEqual([200, 200, 429, 200]);
    expect(rule).toMatchObject({ seen: 3, fired: 1 });
    expect(proxy.count('GET', /^\/v2\/$/)).toBe(3);
    expect(proxy.count('HEAD', /^\/v2\/$/)).toBe(1);
  });

  it('rewriteResponse turns the 202 into an ECR-style 201 with a stale Range, the registry unaffected', async () => {
    const seen: ProxiedResponse[] = [];
    proxy.inject(
      { method: 'PATCH', path: UPLOADS },
      rewriteResponse((response) => {
        seen.push(response);
        return { status: 201, headers: { ...response.headers, Range: '0-0' } };
      }),
    );
    const upload = await startUpload('proxy/rewrite');
    const patched = await send(upload, 'PATCH', Buffer.alloc(2048, 5));
    expect(patched).toMatchObject({ status: 201, headers: { range: '0-0' } });
    expect(seen).toMatchObject([{ status: 202, headers: { range: '0-2047' } }]);
    expect(String(seen[0]?.headers.location).startsWith(proxy.url)).toBe(true);
    expect(await send(location(patched), 'GET')).toMatchObject({ status: 204, headers: { range: '0-2047' } });
    expect(proxy.log[1]).toMatchObject({ status: 201, range: '0-0', fault: 'rewrite', bytesForwarded: 2048 });
  });

  it('status416 answers like ECR when a part does not start at the upload offset', async () => {
    const upload = await startUpload('proxy/range');
    proxy.inject({ method: 'PATCH', path: UPLOADS }, status416('First byte of the layer part is 0 instead of 5242880'));
    const rejected = await send(upload, 'PATCH', Buffer.alloc(1024, 6), { 'content-range': '0-1023' });
    expect(rejected.status).toBe(416);
    expect(rejected.headers['content-type']).toBe('application/json');
    expect(JSON.parse(rejected.body)).toEqual({
      errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'First byte of the layer part is 0 instead of 5242880' }],
    });
    expect(proxy.log.at(-1)).toMatchObject({
      method: 'PATCH',
      status: 416,
      contentRange: '0-1023',
      fault: 'respond',
      bytesForwarded: 0,
    });
  });

  it('holdAfterBytes calls back once the bytes arrived, then neither forwards nor answers until the client goes', async () => {
    const upload = await startUpload('proxy/hold');
    let onHold = (): void => undefined;
    const held = new Promise<void>((resolve) => (onHold = resolve));
    proxy.inject(
      { method: 'PATCH', path: UPLOADS },
      holdAfterBytes(1, () => onHold()),
    );
    const client = new AbortController();
    const inFlight = request(upload, {
      method: 'PATCH',
      headers: OCTETS,
      body: Buffer.alloc(100_000, 9),
      signal: client.signal,
    });
    await held;
    expect(proxy.log.at(-1)).toMatchObject({ method: 'PATCH', status: undefined, fault: 'hold', bytesForwarded: 0 });
    client.abort();
    await expect(inFlight).rejects.toThrow();
    // The registry never saw a byte of it, and the next request passes.
    expect(proxy.bytesForwarded).toBe(0);
    expect(await send(upload, 'GET')).toMatchObject({ status: 204, headers: { range: '0-0' } });
  });

  it('reset() forgets faults and counters', async () => {
    proxy.inject({ path: /^\/v2\/$/ }, respond(503));
    await send(`${proxy.url}/v2/`, 'GET');
    proxy.reset();
    expect(proxy.log).toEqual([]);
    expect((await send(`${proxy.url}/v2/`, 'GET')).status).toBe(200);
    expect(proxy.count(undefined, /./)).toBe(1);
  });

  it('close() ends requests in flight and stops listening', async () => {
    const upload = await startUpload('proxy/close');
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A body that never ends until the test says so: the upload is in flight when the proxy closes.
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(100, 8);
      await held;
    }
    const inFlight = send(upload, 'PATCH', Readable.from(body()));
    await until(() => proxy.bytesForwarded === 100, 'the first bytes to go upstream');
    await proxy.close();
    await expect(inFlight).rejects.toThrow();
    release();
    await expect(send(`${proxy.url}/v2/`, 'GET')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('fault proxy in front of a TLS registry', () => {
  it('trusts the registry CA upstream and still rewrites Location', async () => {
    const registry = await startRegistry({ tls: true });
    const proxy = await startFaultProxy(registry.url, { ca: await readFile(registry.caFile ?? '', 'utf8') });
    try {
      expect((await send(`${proxy.url}/v2/`, 'GET')).status).toBe(200);
      const started = await send(`${proxy.url}/v2/proxy/tls/blobs/uploads/`, 'POST');
      expect(started.status).toBe(202);
      expect(location(started).startsWith(`${proxy.url}/v2/proxy/tls/blobs/uploads/`)).toBe(true);
    } finally {
      await proxy.close();
      await registry.stop();
    }
  });
});
