import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestNode } from '../../src/image/types.ts';
import { type PushEvent, pushImage } from '../../src/registry/push.ts';
import type { UploadMode } from '../../src/registry/limits.ts';
import { imageIndex, imageManifest, randomBlob, sourceImage } from '../support/blobs.ts';
import { inspectRaw, pullBack, testLog, testTransport } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

const MiB = 2 ** 20;

// One registry of each kind the issue names; each test uses its own repository.
const registries: Record<'plain' | 'htpasswd' | 'tls', RegistryHandle | undefined> = {
  plain: undefined,
  htpasswd: undefined,
  tls: undefined,
};

beforeAll(async () => {
  [registries.plain, registries.htpasswd, registries.tls] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd' }),
    startRegistry({ auth: 'htpasswd', tls: true }),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r?.stop() ?? Promise.resolve()));
});

function registry(kind: keyof typeof registries): RegistryHandle {
  const handle = registries[kind];
  if (handle === undefined) throw new Error(`registry ${kind} did not start`);
  return handle;
}

async function push<T extends ManifestNode>(
  kind: keyof typeof registries,
  repository: string,
  root: T,
  options: { mode?: UploadMode; mountFrom?: string[]; tag?: string } = {},
) {
  const log = testLog();
  const transport = await testTransport(registry(kind).host, registry(kind), log);
  const events: PushEvent[] = [];
  try {
    const result = await pushImage(sourceImage(root), {
      transport,
      repository,
      tag: options.tag ?? 'v1',
      mode: options.mode ?? 'stream',
      chunkSize: MiB,
      concurrency: 4,
      log,
      onEvent: (event) => events.push(event),
      ...(options.mountFrom === undefined ? {} : { mountFrom: options.mountFrom }),
    });
    return { result, events, log, root };
  } finally {
    await transport.close();
  }
}

function twoLayers() {
  return imageManifest([randomBlob(3 * MiB + 17), randomBlob(1000)]);
}

describe('pushImage against a real docker-registry', () => {
  it.each([
    ['plain', 'stream'],
    ['plain', 'chunked'],
    ['htpasswd', 'chunked'],
    ['tls', 'stream'],
  ] as const)('%s registry, %s mode: skopeo pulls back the same manifest and blob bytes', async (kind, mode) => {
    const { result, root } = await push(kind, `team/${kind}-${mode}`, twoLayers(), { mode });
    expect(result.digest).toBe(root.digest);
    expect(await inspectRaw(registry(kind), `team/${kind}-${mode}:v1`)).toBe(root.bytes.toString());
    const read = await pullBack(registry(kind), `team/${kind}-${mode}:v1`);
    for (const blob of [root.config, ...root.layers]) expect((await read(blob.digest)).equals(blob.bytes)).toBe(true);
    expect(result.blobs.map((b) => b.outcome)).toEqual(['uploaded', 'uploaded', 'uploaded']);
  });

  it('a second push of the same image skips every blob and sends nothing', async () => {
    const root = imageManifest([randomBlob(2 * MiB)]);
    await push('plain', 'team/again', root);
    const { result } = await push('plain', 'team/again', root);
    expect(result.blobs.map((b) => b.outcome)).toEqual(['skipped', 'skipped']);
    expect(result.blobs.reduce((n, b) => n + b.sentBytes, 0)).toBe(0);
  });

  it('mounts blobs another repository on the same registry holds', async () => {
    const root = imageManifest([randomBlob(MiB)]);
    await push('htpasswd', 'team/origin', root);
    const { result } = await push('htpasswd', 'team/copy', root, { mountFrom: ['team/origin'] });
    expect(result.blobs.map((b) => b.outcome)).toEqual(['mounted', 'mounted']);
    expect(await inspectRaw(registry('htpasswd'), 'team/copy:v1')).toBe(root.bytes.toString());
  });

  it('pushes an index bottom-up: the platform manifests exist before the index that names them', async () => {
    const shared = randomBlob(MiB);
    const index = imageIndex([imageManifest([shared], 'linux/amd64'), imageManifest([shared], 'linux/arm64')]);
    const { result, events } = await push('plain', 'team/multi', index);
    expect(result.digest).toBe(index.digest);
    expect(result.manifests).toEqual([...index.children.map((c) => c.digest), index.digest]);
    expect(events.filter((e) => e.type === 'manifest').map((e) => e.reference)).toEqual([
      ...index.children.map((c) => c.digest),
      'v1',
    ]);
    // The shared layer is pushed once.
    expect(result.blobs.filter((b) => b.digest === shared.digest)).toHaveLength(1);
    expect(await inspectRaw(registry('plain'), 'team/multi:v1')).toBe(index.bytes.toString());
  });

  it('refuses to commit a corrupt blob and pushes no manifest', async () => {
    const root = imageManifest([randomBlob(MiB + 5, { corrupt: true })]);
    await expect(push('plain', 'team/corrupt', root)).rejects.toThrow(/is corrupt in the source/);
    await expect(inspectRaw(registry('plain'), 'team/corrupt:v1')).rejects.toThrow(/manifest unknown|not found/i);
  });

  it('never writes the password into its log', async () => {
    const { log } = await push('htpasswd', 'team/quiet', twoLayers());
    const password = registry('htpasswd').password ?? '';
    expect(password.length).toBeGreaterThan(8);
    expect(log.lines.length).toBeGreaterThan(0);
    expect(log.lines.join('\n')).not.toContain(password);
    expect(log.lines.join('\n')).not.toContain(
      Buffer.from(`${registry('htpasswd').username ?? ''}:${password}`).toString('base64'),
    );
  });
});
