import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryPlatforms } from '../../src/registry/inspect.ts';
import { pushImage } from '../../src/registry/push.ts';
import type { ManifestNode } from '../../src/image/types.ts';
import { imageIndex, imageManifest, randomBlob, sourceImage } from '../support/blobs.ts';
import { runCli } from '../support/cli.ts';
import { testLog, testTransport } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

let registry: RegistryHandle;

async function push(repository: string, root: ManifestNode): Promise<void> {
  const transport = await testTransport(registry.host, registry);
  try {
    await pushImage(sourceImage(root), {
      transport,
      repository,
      tag: 'v1',
      mode: 'stream',
      chunkSize: 2 ** 20,
      concurrency: 2,
    });
  } finally {
    await transport.close();
  }
}

beforeAll(async () => {
  registry = await startRegistry();
  await Promise.all([
    push('app/arm', imageManifest([randomBlob(1000)], 'linux/arm64')),
    push('app/amd', imageManifest([randomBlob(1000)], 'linux/amd64')),
    push(
      'app/multi',
      imageIndex([imageManifest([randomBlob(10)], 'linux/amd64'), imageManifest([randomBlob(10)], 'linux/arm64')]),
    ),
  ]);
});

afterAll(async () => {
  await registry.stop();
});

const options = () => ({ env: {}, log: testLog(), signal: new AbortController().signal });

describe('registryPlatforms against a real docker-registry', () => {
  it('reads the platforms of an index from its entries', async () => {
    const result = await registryPlatforms(`${registry.host}/app/multi:v1`, options());
    expect(result).toMatchObject({ kind: 'index', platforms: ['linux/amd64', 'linux/arm64'] });
  });

  it('reads the platform of a single manifest from its config', async () => {
    const result = await registryPlatforms(`${registry.host}/app/arm:v1`, options());
    expect(result).toMatchObject({ kind: 'manifest', platforms: ['linux/arm64'] });
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('says plainly when the image does not exist', async () => {
    await expect(registryPlatforms(`${registry.host}/app/none:v1`, options())).rejects.toThrow(
      /app\/none:v1: no such image/,
    );
  });
});

describe('preflight check --only image-architecture (the built CLI against the registry)', () => {
  it('fails an arm64-only image for linux/amd64 nodes, exit 3, with the rebuild command', async () => {
    const result = await runCli([
      'check',
      '--only',
      'image-architecture',
      '--image',
      `${registry.host}/app/arm:v1`,
      '--image',
      `${registry.host}/app/multi:v1`,
      '--output',
      'json',
    ]);
    expect(result.code).toBe(3);
    const report: unknown = JSON.parse(result.stdout);
    expect(report).toMatchObject({ checks: [{ id: 'image-architecture', status: 'fail' }] });
    expect(result.stdout).toMatch(/app\/arm:v1 is linux\/arm64 only/);
    expect(result.stdout).toContain('podman build --platform linux/amd64');
  });

  it('passes when every image offers the platform', async () => {
    const result = await runCli([
      'check',
      '--only',
      'image-architecture',
      '--image',
      `${registry.host}/app/amd:v1`,
      '--base-image',
      `${registry.host}/app/multi:v1`,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/all 2 images offer linux\/amd64/);
  });
});
