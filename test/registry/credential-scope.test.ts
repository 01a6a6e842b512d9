import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransport } from '../../src/registry/client.ts';
import { pushImage } from '../../src/registry/push.ts';
import { remoteBlob } from '../../src/registry/remote-blob.ts';
import type { RegistryTransport } from '../../src/registry/transport.ts';
import { imageManifest, randomBlob, sourceImage } from '../support/blobs.ts';
import { type FaultProxy, rewriteResponse, startFaultProxy } from '../support/fault-proxy.ts';
import { testLog } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

// Credentials belong to the registry's origin (scheme, host and port): an upload Location, a blob
// redirect or a token realm that names anything else must not receive them, and an https registry's
// traffic must never be sent to plain http (issue 13). The "registry" is a rewriting proxy in front
// of a real docker-registry; "elsewhere" is a second proxy in front of the same registry, which adds
// the registry's credentials itself (the way a presigned URL carries its own authority) and records
// whether the client sent any.

let work: string;
let plain: RegistryHandle;
let tls: RegistryHandle;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'preflight-scope-'));
  [plain, tls] = await Promise.all([
    startRegistry({ auth: 'htpasswd' }),
    startRegistry({ auth: 'htpasswd', tls: true }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([plain.stop(), tls.stop()]);
  await rm(work, { recursive: true, force: true });
});

function basicOf(registry: RegistryHandle): string {
  return `Basic ${Buffer.from(`${registry.username ?? ''}:${registry.password ?? ''}`).toString('base64')}`;
}

/** The registry's front door (rewriting its answers) and a second origin that reaches the same registry. */
async function origins(
  registry: RegistryHandle,
): Promise<{ front: FaultProxy; elsewhere: FaultProxy; close: () => Promise<void> }> {
  const ca = registry.caFile === undefined ? undefined : await readFile(registry.caFile, 'utf8');
  const certs =
    registry.caFile === undefined
      ? undefined
      : {
          cert: await readFile(join(dirname(registry.caFile), 'server.pem'), 'utf8'),
          key: await readFile(join(dirname(registry.caFile), 'server.key'), 'utf8'),
        };
  const front = await startFaultProxy(registry.url, {
    ...(ca === undefined ? {} : { ca }),
    ...(certs === undefined ? {} : { tls: certs }),
  });
  // Plain HTTP on purpose: for the https registry it is the downgrade target.
  const elsewhere = await startFaultProxy(registry.url, {
    ...(ca === undefined ? {} : { ca }),
    upstreamHeaders: { authorization: basicOf(registry) },
  });
  return { front, elsewhere, close: async () => Promise.all([front.close(), elsewhere.close()]).then(() => undefined) };
}

/** A transport to `front` with the registry's credentials in a DOCKER_CONFIG, as a user would have them. */
async function transportTo(
  front: FaultProxy,
  registry: RegistryHandle,
  options: { insecure?: boolean } = {},
): Promise<RegistryTransport> {
  const dir = await mkdtemp(join(work, 'docker-'));
  const auth = Buffer.from(`${registry.username ?? ''}:${registry.password ?? ''}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [front.host]: { auth } } }), { mode: 0o600 });
  return createTransport(front.host, {
    env: { DOCKER_CONFIG: dir },
    insecureRegistries: options.insecure === true ? [front.host] : [],
    caFile: registry.caFile,
    log: testLog(),
    userAgent: 'test',
  });
}

/** Move a Location (or any URL) onto `target`'s origin, keeping path and query. */
function onto(target: FaultProxy, location: string, base: string): string {
  const url = new URL(location, base);
  return `${target.url}${url.pathname}${url.search}`;
}

describe('registry credentials stay with the registry origin', () => {
  it('an upload Location on another origin gets no Authorization, and the push still lands', async () => {
    const { front, elsewhere, close } = await origins(plain);
    try {
      front.inject(
        { method: 'POST', path: /\/blobs\/uploads\/$/, times: 10 },
        rewriteResponse((r) => ({
          ...r,
          headers: { ...r.headers, location: onto(elsewhere, String(r.headers.location), plain.url) },
        })),
      );
      const transport = await transportTo(front, plain);
      const image = imageManifest([randomBlob(300_000), randomBlob(1000)]);
      const result = await pushImage(sourceImage(image), {
        transport,
        repository: 'scope/location',
        tag: 'v1',
        mode: 'chunked',
        chunkSize: 2 ** 17,
        concurrency: 2,
      });
      await transport.close();
      expect(result.digest).toBe(image.digest);
      const uploads = elsewhere.log.filter((e) => /\/blobs\/uploads\//.test(e.path));
      // Every part and every commit went to the other origin, none with our credentials.
      expect(uploads.length).toBeGreaterThan(3);
      expect(uploads.map((e) => e.authorization)).toEqual(uploads.map(() => undefined));
      // The registry's own origin did get them (the control: the transport did authenticate).
      expect(front.log.some((e) => e.authorization === 'Basic')).toBe(true);
    } finally {
      await close();
    }
  });

  it('an https registry whose upload Location points to plain http: refused with one line, nothing sent there, nothing tagged', async () => {
    const { front, elsewhere, close } = await origins(tls);
    try {
      front.inject(
        { method: 'POST', path: /\/blobs\/uploads\/$/, times: 10 },
        rewriteResponse((r) => ({
          ...r,
          headers: { ...r.headers, location: onto(elsewhere, String(r.headers.location), tls.url) },
        })),
      );
      const transport = await transportTo(front, tls);
      const image = imageManifest([randomBlob(50_000)]);
      const push = pushImage(sourceImage(image), {
        transport,
        repository: 'scope/downgrade',
        tag: 'v1',
        mode: 'stream',
        chunkSize: 2 ** 20,
        concurrency: 1,
      });
      await expect(push).rejects.toThrow(
        new RegExp(
          `${front.host} speaks HTTPS, but its answer points to plain http://${elsewhere.host}/v2/scope/downgrade/blobs/uploads/[^ ?]*: refused`,
        ),
      );
      const error: unknown = await push.catch((caught: unknown) => caught);
      expect(error instanceof Error && 'hint' in error ? String(error.hint) : '').toContain(
        `--insecure-registry ${front.host}`,
      );
      // The session state in the Location's query stays out of the message.
      expect(String(error)).not.toMatch(/\?|_state/);
      await transport.close();
      expect(elsewhere.log).toEqual([]);
      expect(front.count('PUT', /\/manifests\//)).toBe(0);
    } finally {
      await close();
    }
  });

  it('--insecure-registry allows that http Location, still without credentials', async () => {
    const { front, elsewhere, close } = await origins(tls);
    try {
      front.inject(
        { method: 'POST', path: /\/blobs\/uploads\/$/, times: 10 },
        rewriteResponse((r) => ({
          ...r,
          headers: { ...r.headers, location: onto(elsewhere, String(r.headers.location), tls.url) },
        })),
      );
      const transport = await transportTo(front, tls, { insecure: true });
      const image = imageManifest([randomBlob(50_000)]);
      const result = await pushImage(sourceImage(image), {
        transport,
        repository: 'scope/insecure',
        tag: 'v1',
        mode: 'stream',
        chunkSize: 2 ** 20,
        concurrency: 1,
      });
      await transport.close();
      expect(result.digest).toBe(image.digest);
      expect(elsewhere.log.length).toBeGreaterThan(0);
      expect(elsewhere.log.every((e) => e.authorization === undefined)).toBe(true);
    } finally {
      await close();
    }
  });

  it('a blob redirect to another origin is followed without credentials; one back to the registry keeps them', async () => {
    const { front, elsewhere, close } = await origins(plain);
    try {
      const blob = randomBlob(200_000);
      const transport = await transportTo(front, plain);
      await pushImage(sourceImage(imageManifest([blob])), {
        transport,
        repository: 'scope/redirect',
        tag: 'v1',
        mode: 'stream',
        chunkSize: 2 ** 20,
        concurrency: 1,
      });
      const path = `/v2/scope/redirect/blobs/${blob.digest}`;
      front.inject(
        { method: 'GET', path: new RegExp(`^${path}$`) },
        rewriteResponse((r) => ({
          status: 307,
          headers: { ...r.headers, location: `${elsewhere.url}${path}?X-Amz-Signature=abc` },
        })),
      );
      const read = async (): Promise<Buffer> => {
        const chunks: Buffer[] = [];
        for await (const chunk of remoteBlob(transport, 'scope/redirect', blob).open(150_000))
          if (Buffer.isBuffer(chunk)) chunks.push(chunk);
        return Buffer.concat(chunks);
      };
      expect((await read()).equals(blob.bytes.subarray(150_000))).toBe(true);
      expect(elsewhere.log.map((e) => [e.method, e.path.split('?')[0], e.authorization])).toEqual([
        ['GET', path, undefined],
      ]);
      // A redirect to the registry's own origin is the registry: it gets the credentials it asks for.
      front.reset();
      front.inject(
        { method: 'GET', path: new RegExp(`^${path}$`) },
        rewriteResponse((r) => ({ status: 307, headers: { ...r.headers, location: `${front.url}${path}?again=1` } })),
      );
      expect((await read()).equals(blob.bytes.subarray(150_000))).toBe(true);
      expect(front.log.filter((e) => e.path.endsWith('?again=1')).map((e) => e.authorization)).toContain('Basic');
      await transport.close();
    } finally {
      await close();
    }
  });

  it('an https registry whose blob redirect points to plain http: refused, nothing sent there', async () => {
    const { front, elsewhere, close } = await origins(tls);
    try {
      const blob = randomBlob(10_000);
      const transport = await transportTo(front, tls);
      await pushImage(sourceImage(imageManifest([blob])), {
        transport,
        repository: 'scope/redirect-http',
        tag: 'v1',
        mode: 'stream',
        chunkSize: 2 ** 20,
        concurrency: 1,
      });
      const path = `/v2/scope/redirect-http/blobs/${blob.digest}`;
      front.inject(
        { method: 'GET', path: new RegExp(`^${path}$`) },
        rewriteResponse((r) => ({ status: 302, headers: { ...r.headers, location: `${elsewhere.url}${path}` } })),
      );
      const stream = remoteBlob(transport, 'scope/redirect-http', blob).open(0);
      await expect(async () => {
        for await (const chunk of stream) expect(chunk).toBeUndefined();
      }).rejects.toThrow(/speaks HTTPS, but its answer points to plain http:\/\/.*: refused/);
      await transport.close();
      expect(elsewhere.log).toEqual([]);
    } finally {
      await close();
    }
  });

  it.each([
    [
      'plain http',
      (catcher: FaultProxy) => `Bearer realm="${catcher.url}/token",service="registry"`,
      /speaks HTTPS, but its answer points to plain http:\/\/127\.0\.0\.1:\d+\/token: refused/,
    ],
    [
      'not HTTP at all',
      () => 'Bearer realm="file:///etc/passwd",service="registry"',
      /points to a file: URL, not HTTP\(S\): refused/,
    ],
  ])(
    'an https registry whose token realm is %s: Basic credentials are not sent there',
    async (_name, challenge, refused) => {
      const { front, elsewhere, close } = await origins(tls);
      try {
        front.inject(
          { path: /^\/v2\//, times: 100 },
          rewriteResponse((r) =>
            r.status === 401 ? { ...r, headers: { ...r.headers, 'www-authenticate': challenge(elsewhere) } } : r,
          ),
        );
        const transport = await transportTo(front, tls);
        const push = pushImage(sourceImage(imageManifest([randomBlob(1000)])), {
          transport,
          repository: 'scope/realm',
          tag: 'v1',
          mode: 'stream',
          chunkSize: 2 ** 20,
          concurrency: 1,
        });
        await expect(push).rejects.toThrow(refused);
        await transport.close();
        expect(elsewhere.log).toEqual([]);
      } finally {
        await close();
      }
    },
  );
});
