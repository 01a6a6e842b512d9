import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelcarBuild } from '../../src/commands/modelcar-build.ts';
import type { PushEvent } from '../../src/registry/push.ts';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { inspectRaw, testLog } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

let registry: RegistryHandle;
let base: BusyboxBase;

beforeAll(async () => {
  registry = await startRegistry();
  base = await pushBusyboxBase(registry);
});

afterAll(async () => {
  await registry.stop();
});

function build(modelDir: string, tag: string, onEvent: (event: PushEvent) => void): ReturnType<typeof modelcarBuild> {
  return modelcarBuild({
    modelDir,
    image: `${registry.host}/models/changing:${tag}`,
    base: base.reference,
    platforms: ['linux/amd64'],
    modelsPath: '/models',
    layerThreshold: 2 ** 20,
    labels: {},
    cacheDir: undefined,
    useCache: false,
    uploadMode: 'stream',
    chunkSize: 2 ** 20,
    concurrency: 2,
    insecureRegistries: [],
    caFile: undefined,
    env: {},
    log: testLog(),
    signal: new AbortController().signal,
    onEvent,
  });
}

describe('modelcar build while the model changes', () => {
  it('a file written to during its upload fails the build, naming it, and no manifest is pushed', async () => {
    const dir = await testdir({ 'config.json': '{}' });
    const weights = join(dir, 'weights.safetensors');
    await writeFile(weights, randomBytes(24 * 2 ** 20));
    let appended = false;
    // The first progress of that layer means its bytes are being read: append to it then, as a
    // still-running download would. Driven by the upload's own events, so no timing is involved.
    const onEvent = (event: PushEvent): void => {
      if (!appended && event.type === 'blob-progress' && event.digest.includes('weights.safetensors')) {
        appended = true;
        appendFileSync(weights, 'more');
      }
    };
    await expect(build(dir, 'v1', onEvent)).rejects.toThrow(/weights\.safetensors changed while it was being uploaded/);
    expect(appended).toBe(true);
    await expect(inspectRaw(registry, 'models/changing:v1')).rejects.toThrow(/manifest unknown|name unknown|not found/i);
    // Once the writer is done, the same directory builds.
    const done = await build(dir, 'v2', () => undefined);
    expect(done.contract.problems).toEqual([]);
    expect(done.model).toMatchObject({ files: 2, bytes: 24 * 2 ** 20 + 4 + 2 });
    expect(await inspectRaw(registry, `models/changing@${done.digest}`)).toContain('"layers"');
  });
});
