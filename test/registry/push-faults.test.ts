import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/push.ts';
import { imageManifest, randomBlob, sourceImage, type TestManifest } from '../support/blobs.ts';
import {
  type Fault,
  type FaultProxy,
  type FaultMatch,
  cutAfterBytes,
  dropAfterBytes,
  respond,
  rewriteResponse,
  startFaultProxy,
  status416,
} from '../support/fault-proxy.ts';
import { pullBack, testLog, testTransport } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

const MiB = 2 ** 20;
const LAYER = 5 * MiB + 123;
// Fast retries: the faults are injected, so waiting as long as for a real registry proves nothing.
const RETRY = { attempts: 6, baseMs: 1, maxMs: 50 };
const PATCH: FaultMatch = { method: 'PATCH', path: /\/blobs\/uploads\// };

let registry: RegistryHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startRegistry({ auth: 'htpasswd' });
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy.close();
  await registry.stop();
});

beforeEach(() => {
  proxy.reset();
});

/**
 * Push a fresh one-layer image through the proxy in chunked mode, one blob at a time: PATCH 1 is the
 * config, PATCHes 2-7 are the layer's 1 MiB parts. `signal` is the test's: a test that times out
 * stops its push, which would otherwise run on into the next test's faults and log.
 */
async function pushThroughProxy(
  repository: string,
  faults: readonly (readonly [FaultMatch, Fault])[],
  signal: AbortSignal,
) {
  const image: TestManifest = imageManifest([randomBlob(LAYER)]);
  for (const [match, fault] of faults) proxy.inject(match, fault);
  const log = testLog();
  const transport = await testTransport(proxy.host, registry, log);
  try {
    const result = await pushImage(sourceImage(image), {
      transport,
      repository,
      tag: 'v1',
      mode: 'chunked',
      chunkSize: MiB,
      concurrency: 1,
      log,
      retry: RETRY,
      signal,
    });
    const layer = result.blobs.find((b) => b.digest === image.layers[0]?.digest);
    return { image, result, layer, log: log.lines.join('\n') };
  } finally {
    await transport.close();
  }
}

/** Request-body bytes the registry received for the layer's PATCHes (the config goes first, in one part). */
function layerBytesForwarded(image: TestManifest, repository: string): number {
  return (
    proxy.log
      .filter((e) => e.method === 'PATCH' && e.path.startsWith(`/v2/${repository}/`))
      .reduce((n, e) => n + e.bytesForwarded, 0) - image.config.size
  );
}

async function expectPulledBack(image: TestManifest, repository: string): Promise<void> {
  const read = await pullBack(registry, `${repository}:v1`);
  const layer = image.layers[0];
  if (layer === undefined) throw new Error('no layer');
  expect((await read(layer.digest)).equals(layer.bytes)).toBe(true);
}

describe('push through injected faults, against a real docker-registry', () => {
  it.for<[string, readonly (readonly [FaultMatch, Fault])[], RegExp | undefined]>([
    [
      'connection cut mid-part (nothing of the part reached the registry)',
      [[{ ...PATCH, occurrence: 4 }, cutAfterBytes(300_000)]],
      undefined,
    ],
    [
      '503 with Retry-After',
      [[{ ...PATCH, occurrence: 3 }, respond(503, { 'retry-after': '1' })]],
      /recovering in 50ms \(Retry-After\)/,
    ],
    [
      '429 with Retry-After, twice',
      [[{ ...PATCH, occurrence: 2, times: 2 }, respond(429, { 'retry-after': '1' })]],
      /\(Retry-After\)/,
    ],
    [
      '401 mid-upload (credentials asked again)',
      [[{ ...PATCH, occurrence: 3 }, respond(401, { 'www-authenticate': 'Basic realm="preflight-test"' })]],
      undefined,
    ],
    [
      'ECR 403 "Your Authorization Token has expired" (token refreshed, part re-sent)',
      [
        [
          { ...PATCH, occurrence: 3 },
          respond(
            403,
            { 'content-type': 'application/json' },
            JSON.stringify({
              errors: [{ code: 'DENIED', message: 'Your Authorization Token has expired. Please run docker login.' }],
            }),
          ),
        ],
      ],
      undefined,
    ],
    [
      'ECR-style 201 for every part',
      [[{ ...PATCH, times: 100 }, rewriteResponse((r) => ({ ...r, status: r.status === 202 ? 201 : r.status }))]],
      undefined,
    ],
    [
      'ECR-style 416 naming the offset the registry holds',
      [[{ ...PATCH, occurrence: 4 }, status416(`First byte of the layer part is 0 instead of ${2 * MiB}`)]],
      /\(416\)/,
    ],
    [
      'a cut, then a stale Range from the registry',
      [
        [{ ...PATCH, occurrence: 5 }, cutAfterBytes(100_000)],
        [
          { method: 'GET', path: /\/blobs\/uploads\// },
          rewriteResponse((r) => ({ ...r, headers: { ...r.headers, range: '0-1048575' } })),
        ],
      ],
      undefined,
    ],
  ])('%s: same digest, and no acknowledged part is sent twice', async ([name, faults, logPattern], { signal }) => {
    const repository = `faults/${name.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    const { image, result, layer, log } = await pushThroughProxy(repository, faults, signal);
    expect(result.digest).toBe(image.digest);
    expect(proxy.log.filter((e) => e.fault !== undefined).length).toBeGreaterThan(0);
    expect(layer?.restarts).toBe(0);
    // Every byte of the layer reached the registry exactly once: resumes re-sent nothing it held.
    expect(layerBytesForwarded(image, repository)).toBe(LAYER);
    if (logPattern !== undefined) expect(log).toMatch(logPattern);
    await expectPulledBack(image, repository);
  });

  it('a connection dropped after part of a part reached the registry restarts the blob, and the push still lands', async ({
    signal,
  }) => {
    // distribution appends what it got and invalidates the old Location: the session is lost.
    const { image, result, layer } = await pushThroughProxy(
      'faults/drop',
      [[{ ...PATCH, occurrence: 3 }, dropAfterBytes(200_000)]],
      signal,
    );
    expect(result.digest).toBe(image.digest);
    expect(layer?.restarts).toBe(1);
    await expectPulledBack(image, 'faults/drop');
  });

  it('honours OCI-Chunk-Min-Length: parts grow to the size the registry asks for', async ({ signal }) => {
    const min = 2 * MiB;
    const { image, result } = await pushThroughProxy(
      'faults/min-length',
      [
        [
          { method: 'POST', path: /\/blobs\/uploads\/$/, times: 10 },
          rewriteResponse((r) => ({ ...r, headers: { ...r.headers, 'oci-chunk-min-length': String(min) } })),
        ],
      ],
      signal,
    );
    expect(result.digest).toBe(image.digest);
    const parts = proxy.log
      .filter((e) => e.method === 'PATCH' && e.path.startsWith('/v2/faults/min-length/'))
      .map((e) => e.bytesForwarded);
    // The config goes in one small part; the layer's parts are 2 MiB except the last.
    expect(parts.slice(1)).toEqual([min, min, LAYER - 2 * min]);
  });

  it('a part refused for good fails the push and leaves no manifest behind', async ({ signal }) => {
    const denied = respond(
      400,
      { 'content-type': 'application/json' },
      JSON.stringify({ errors: [{ code: 'DENIED', message: 'quota exceeded' }] }),
    );
    await expect(pushThroughProxy('faults/denied', [[{ ...PATCH, occurrence: 2 }, denied]], signal)).rejects.toThrow(
      /400 \(DENIED: quota exceeded\)/,
    );
    expect(proxy.count('PUT', /^\/v2\/faults\/denied\/manifests\//)).toBe(0);
  });

  it('gives up after the bounded number of attempts on a registry that keeps failing', async ({ signal }) => {
    await expect(
      pushThroughProxy('faults/down', [[{ ...PATCH, occurrence: 2, times: 100 }, respond(503)]], signal),
    ).rejects.toThrow(/503/);
    // The first part, then one try per attempt for the second part.
    expect(proxy.count('PATCH', /^\/v2\/faults\/down\/blobs\/uploads\//)).toBeLessThanOrEqual(1 + 1 + RETRY.attempts);
    expect(proxy.count('PUT', /^\/v2\/faults\/down\/manifests\//)).toBe(0);
  });
});

describe('connection reuse', () => {
  /** Connections a second push of `image` opens (every blob is HEADed and found). */
  async function connectionsOfRepush(repository: string, image: TestManifest, signal: AbortSignal): Promise<number> {
    const log = testLog();
    const push = async (tag: string): Promise<void> => {
      const transport = await testTransport(proxy.host, registry, log);
      try {
        const result = await pushImage(sourceImage(image), {
          transport,
          repository,
          tag,
          mode: 'stream',
          chunkSize: MiB,
          concurrency: 1,
          log,
          retry: RETRY,
          signal,
        });
        if (tag === 'v2') expect(result.blobs.every((b) => b.outcome === 'skipped')).toBe(true);
      } finally {
        await transport.close();
      }
    };
    await push('v1');
    proxy.reset();
    await push('v2');
    expect(proxy.count('HEAD', /\/blobs\//)).toBeGreaterThanOrEqual(image.layers.length + 1);
    return proxy.connections;
  }

  it('HEADs of large blobs keep their connections: a re-push opens as many for 12 layers as for 2', async ({
    signal,
  }) => {
    // undici closes the connection after each HEAD unless told not to: each HEAD of a layer would
    // cost a new connection (a TLS handshake on ECR), 16 here for 12 layers against 6 for 2.
    const layers = (n: number) => Array.from({ length: n }, (_, i) => randomBlob(200_000 + i));
    const few = await connectionsOfRepush('reuse/few', imageManifest(layers(2)), signal);
    const many = await connectionsOfRepush('reuse/many', imageManifest(layers(12)), signal);
    expect(many).toBe(few);
  });
});
