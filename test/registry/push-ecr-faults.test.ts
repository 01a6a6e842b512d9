import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/push.ts';
import { AwsState } from '../emulators/aws/state.ts';
import { type EcrRegistry, startEcrRegistry } from '../emulators/ecr/registry.ts';
import { imageManifest, randomBlob, sourceImage, type TestManifest } from '../support/blobs.ts';
import {
  type Fault,
  type FaultMatch,
  type FaultProxy,
  cutAfterBytes,
  dropAfterBytes,
  rewriteResponse,
  startFaultProxy,
} from '../support/fault-proxy.ts';
import { testLog, testTransport } from '../support/push-helpers.ts';
import type { RegistryHandle } from '../support/registry.ts';

const MiB = 2 ** 20;
// Six parts of ECR's minimum size: enough for every part after the first to meet the stuck Range.
const PART = 5 * MiB;
const LAYER = 5 * PART + 123;
const RETRY = { attempts: 6, baseMs: 1, maxMs: 50 };
const PATCH: FaultMatch = { method: 'PATCH', path: /\/blobs\/uploads\// };
const ACCOUNT = '210987654321';

let ecr: { host: string; url: string; registry: EcrRegistry; close(): Promise<void> };
let handle: RegistryHandle;
let proxy: FaultProxy;
const state = new AwsState();

beforeAll(async () => {
  ecr = await startEcrRegistry({ state, account: ACCOUNT });
  const user = state.addUser(ACCOUNT, 'pipeline');
  // The test's client speaks to a loopback host, so it logs in from a docker config, as ECR's own token.
  handle = {
    host: ecr.host,
    url: ecr.url,
    dataDir: '',
    username: 'AWS',
    password: state.issueEcrToken(user).password,
    stop: () => Promise.resolve(),
  };
  proxy = await startFaultProxy(ecr.url);
});

afterAll(async () => {
  await proxy.close();
  await ecr.close();
});

beforeEach(() => {
  proxy.reset();
});

async function pushThroughProxy(
  repository: string,
  faults: readonly (readonly [FaultMatch, Fault])[],
): Promise<{ image: TestManifest; restarts: number | undefined }> {
  state.addRepository(ACCOUNT, repository);
  const image = imageManifest([randomBlob(LAYER)]);
  for (const [match, fault] of faults) proxy.inject(match, fault);
  const log = testLog();
  const transport = await testTransport(proxy.host, handle, log);
  try {
    const result = await pushImage(sourceImage(image), {
      transport,
      repository,
      tag: 'v1',
      mode: 'chunked',
      chunkSize: PART,
      concurrency: 1,
      log,
      retry: RETRY,
    });
    expect(result.digest).toBe(image.digest);
    return { image, restarts: result.blobs.find((b) => b.digest === image.layers[0]?.digest)?.restarts };
  } finally {
    await transport.close();
  }
}

/** The layer's parts ECR stored: each offset once, in order, adding up to the layer. */
function expectStoredOnce(repository: string): void {
  const stored = ecr.registry.log.parts.filter((p) => p.repository === repository && p.status < 300);
  const layerUpload = stored.find((p) => p.length === PART)?.upload;
  expect(stored.filter((p) => p.upload === layerUpload).map((p) => [p.start, p.length])).toEqual(
    [0, 1, 2, 3, 4, 5].map((i) => [i * PART, i < 5 ? PART : 123]),
  );
  expect(ecr.registry.log.blobs).toContainEqual(expect.objectContaining({ repository, size: LAYER }));
}

describe('chunked push against the faithful ECR double (stuck Range, 201, whole parts only)', () => {
  // The number: the most bytes of the layer that may go over the wire twice.
  it.each<[string, readonly (readonly [FaultMatch, Fault])[], number]>([
    ['no fault: every Range after the first is stale', [], 0],
    // ECR keeps nothing of a part that did not arrive whole; its upload status names the stale Range.
    ['a connection cut before the part reached ECR', [[{ ...PATCH, occurrence: 4 }, cutAfterBytes(300_000)]], 0],
    [
      'a connection dropped after part of a part reached ECR',
      [[{ ...PATCH, occurrence: 4 }, dropAfterBytes(200_000)]],
      200_000,
    ],
    // ECR stored the part but the answer was lost (here: a 502 from a gateway): the re-sent part earns
    // ECR's 416 "First byte of the layer part is X instead of N", and the upload continues at N.
    [
      'a part stored but answered 502',
      [[{ ...PATCH, occurrence: 4 }, rewriteResponse((r) => ({ ...r, status: 502 }))]],
      PART,
    ],
  ])('%s: same digest, the session kept, each part stored once', async (name, faults, mostResent) => {
    const repository = `ecr-faults/${name.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    const { image, restarts } = await pushThroughProxy(repository, faults);
    expect(restarts).toBe(0);
    expectStoredOnce(repository);
    const sent =
      proxy.log.filter((e) => e.method === 'PATCH').reduce((n, e) => n + e.bytesForwarded, 0) - image.config.size;
    // What was re-sent is at most what was lost: ECR answers the 416 before it has read the whole part.
    expect(sent).toBeGreaterThanOrEqual(LAYER);
    expect(sent).toBeLessThanOrEqual(LAYER + mostResent);
    if (name.includes('502'))
      expect(ecr.registry.log.parts.some((p) => p.repository === repository && p.status === 416)).toBe(true);
  });
});
