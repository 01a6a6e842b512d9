import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransport } from '../../src/registry/client.ts';
import type { EcrTokenSource } from '../../src/registry/credentials.ts';
import { putManifest } from '../../src/registry/manifest.ts';
import { pushImage } from '../../src/registry/push.ts';
import { imageManifest, randomBlob, sourceImage } from '../support/blobs.ts';
import { type FaultProxy, respond, startFaultProxy } from '../support/fault-proxy.ts';
import { testLog } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

let registry: RegistryHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  // ECR's user name is AWS; the fake token source hands out the htpasswd password as the token.
  registry = await startRegistry({ auth: 'htpasswd', username: 'AWS' });
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy.close();
  await registry.stop();
});

/** An EcrTokenSource that counts its calls; the first token it gives can be made stale. */
function fakeTokens(expiresInMs: number): EcrTokenSource & { calls: number } {
  const source = {
    calls: 0,
    token(host: string) {
      source.calls += 1;
      if (host !== proxy.host) return Promise.reject(new Error(`asked for ${host}`));
      return Promise.resolve({
        username: 'AWS',
        password: registry.password ?? '',
        expiresAt: new Date(Date.now() + expiresInMs),
      });
    },
  };
  return source;
}

async function transportWith(tokens: EcrTokenSource) {
  return createTransport(proxy.host, {
    env: {},
    insecureRegistries: [],
    caFile: undefined,
    log: testLog(),
    userAgent: 'test',
    ecr: { isEcrHost: () => true, tokens },
  });
}

describe('ECR authentication through an EcrTokenSource', () => {
  it('asks the token source once for a whole push while the token is fresh', async () => {
    proxy.reset();
    const tokens = fakeTokens(12 * 3600_000);
    const transport = await transportWith(tokens);
    const image = imageManifest([randomBlob(100_000), randomBlob(1000)]);
    const result = await pushImage(sourceImage(image), {
      transport,
      repository: 'ecr/app',
      tag: 'v1',
      mode: 'chunked',
      chunkSize: 2 ** 20,
      concurrency: 2,
    });
    await transport.close();
    expect(result.digest).toBe(image.digest);
    expect(tokens.calls).toBe(1);
  });

  it('re-asks when the token is within the refresh margin of its expiry', async () => {
    const tokens = fakeTokens(60_000);
    const transport = await transportWith(tokens);
    await pushImage(sourceImage(imageManifest([randomBlob(10)])), {
      transport,
      repository: 'ecr/margin',
      tag: 'v1',
      mode: 'stream',
      chunkSize: 2 ** 20,
      concurrency: 1,
    });
    await transport.close();
    expect(tokens.calls).toBeGreaterThan(1);
  });

  it('on ECR\'s 403 "Your Authorization Token has expired" gets a new token and retries', async () => {
    proxy.reset();
    proxy.inject(
      { method: 'PUT', path: /\/manifests\// },
      respond(
        403,
        { 'content-type': 'application/json' },
        JSON.stringify({
          errors: [{ code: 'DENIED', message: 'Your Authorization Token has expired. Please run docker login.' }],
        }),
      ),
    );
    const tokens = fakeTokens(12 * 3600_000);
    const transport = await transportWith(tokens);
    const image = imageManifest([randomBlob(10)]);
    const result = await pushImage(sourceImage(image), {
      transport,
      repository: 'ecr/expired',
      tag: 'v1',
      mode: 'stream',
      chunkSize: 2 ** 20,
      concurrency: 1,
    });
    await transport.close();
    expect(result.digest).toBe(image.digest);
    expect(tokens.calls).toBe(2);
    expect(proxy.count('PUT', /\/manifests\//)).toBe(2);
  });

  it('refuses to PUT a manifest over 4 MiB, before sending it', async () => {
    proxy.reset();
    const transport = await transportWith(fakeTokens(12 * 3600_000));
    const bytes = Buffer.alloc(4 * 2 ** 20 + 1, 0x20);
    await expect(
      putManifest(transport, 'ecr/huge', 'v1', { mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes }),
    ).rejects.toThrow(/registries accept at most 4194304/);
    await transport.close();
    expect(proxy.count('PUT', /\/manifests\//)).toBe(0);
  });
});
