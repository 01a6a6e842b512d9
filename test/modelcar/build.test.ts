import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelcarBuildInput, modelcarBuild } from '../../src/commands/modelcar-build.ts';
import { UsageError } from '../../src/errors.ts';
import { ModelcarContractError } from '../../src/modelcar/contract.ts';
import type { PushEvent } from '../../src/registry/push.ts';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { inspectRaw } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';
import { modelcarInput } from '../support/modelcar-input.ts';

let registry: RegistryHandle;
let base: BusyboxBase;
let proxy: FaultProxy;
const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/models/limits';

beforeAll(async () => {
  registry = await startRegistry();
  base = await pushBusyboxBase(registry);
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await Promise.all([proxy.close(), registry.stop()]);
});

function build(
  modelDir: string,
  tag: string,
  onEvent: (event: PushEvent) => void,
  extra: Partial<ModelcarBuildInput> = {},
): ReturnType<typeof modelcarBuild> {
  return modelcarBuild(
    modelcarInput({
      modelDir,
      image: `${registry.host}/models/changing:${tag}`,
      base: base.reference,
      onEvent,
      ...extra,
    }),
  );
}

/** The requests that would change a registry: uploads, mounts, manifests. */
const writes = () => proxy.log.filter((e) => e.method !== 'GET' && e.method !== 'HEAD');

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
    await expect(inspectRaw(registry, 'models/changing:v1')).rejects.toThrow(
      /manifest unknown|name unknown|not found/i,
    );
    // Once the writer is done, the same directory builds.
    const done = await build(dir, 'v2', () => undefined);
    expect(done.contract.problems).toEqual([]);
    expect(done.model).toMatchObject({ files: 2, bytes: 24 * 2 ** 20 + 4 + 2 });
    expect(await inspectRaw(registry, `models/changing@${done.digest}`)).toContain('"layers"');
  });
});

describe('modelcar build refuses what cannot work before any upload', () => {
  it('a 53,000 MiB file for ECR: exit 2 naming it, no request to the destination, the base only read', async () => {
    const dir = await testdir({ 'config.json': '{}' });
    await writeFile(join(dir, 'huge.gguf'), '');
    // Sparse: the size is real, the disk is not used.
    await truncate(join(dir, 'huge.gguf'), 53_000 * 2 ** 20);
    proxy.reset();
    // The destination is an ECR host nothing answers for: any request to it would fail otherwise.
    const refused = build(dir, 'v1', () => undefined, {
      image: `${ECR_IMAGE}:huge`,
      base: `${proxy.host}/base/busybox:1`,
      uploadMode: 'chunked',
      chunkSize: 8 * 2 ** 20,
    });
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(
      /models\/huge\.gguf is .*53,000 MiB.*: above ECR's limit of 52,000 MiB per layer/,
    );
    await expect(refused).rejects.toMatchObject({ exitCode: 2 });
    expect(writes()).toEqual([]);
  });

  it('a --chunk-size outside ECR part limits: exit 2 before anything is read', async () => {
    const dir = await testdir({ 'config.json': '{}' });
    proxy.reset();
    await expect(
      build(dir, 'v1', () => undefined, {
        image: `${ECR_IMAGE}:chunk`,
        base: `${proxy.host}/base/busybox:1`,
        chunkSize: 2 ** 20,
      }),
    ).rejects.toThrow(/--chunk-size 1048576 is outside ECR's part limits/);
    expect(proxy.log).toEqual([]);
  });

  it('a --max-layers with no room beside the base: a usage error naming the flag, nothing written', async () => {
    const dir = await testdir({ 'config.json': '{}' });
    proxy.reset();
    const refused = build(dir, 'v1', () => undefined, {
      image: `${proxy.host}/models/too-few:v1`,
      base: `${proxy.host}/base/busybox:1`,
      maxLayers: 1,
    });
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(/--max-layers 1 leaves no layer for the model: the base has 1/);
    expect(writes()).toEqual([]);
  });

  it('a model outside /models breaks the contract: refused before any upload, the destination never read', async () => {
    const dir = await testdir({ 'config.json': '{}' });
    proxy.reset();
    const refused = build(dir, 'v1', () => undefined, {
      image: `${proxy.host}/models/elsewhere:v1`,
      base: `${proxy.host}/base/busybox:1`,
      modelsPath: '/data',
    });
    await expect(refused).rejects.toThrow(ModelcarContractError);
    await expect(refused).rejects.toThrow(/models\/elsewhere:v1 has no \/models/);
    expect(writes()).toEqual([]);
    expect(proxy.log.filter((e) => e.path.includes('/models/elsewhere/'))).toEqual([]);
  });
});
