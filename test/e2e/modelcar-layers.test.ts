import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBusyboxBase } from '../support/busybox-base.ts';
import { runCli } from '../support/cli.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { inspectRaw } from '../support/push-helpers.ts';
import { type RegistryHandle, skopeo, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

const exec = promisify(execFile);
const reportSchema = v.object({
  digest: v.string(),
  layers: v.array(
    v.object({ description: v.string(), digest: v.string(), outcome: v.string(), files: v.array(v.string()) }),
  ),
  contract: v.object({ platform: v.string(), problems: v.array(v.string()) }),
});
const manifestSchema = v.object({ layers: v.array(v.object({ digest: v.string() })) });

let registry: RegistryHandle;
let proxy: FaultProxy;
let work: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusyboxBase(registry);
  // Every request of the CLI goes through the proxy, which logs it: the test sees what was (not) asked.
  proxy = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'preflight-modelcar-layers-'));
});

afterAll(async () => {
  await Promise.all([proxy.close(), registry.stop(), rm(work, { recursive: true, force: true })]);
});

/** 20 files over the 1 KiB threshold (distinct bytes each) and one small file. */
async function model(): Promise<string> {
  const dir = await testdir({ 'config.json': '{"architectures": ["Tiny"]}' });
  for (let i = 0; i < 20; i++)
    await writeFile(join(dir, `shard-${String(i).padStart(2, '0')}.bin`), Buffer.alloc(2000 + i * 100, i + 1));
  return dir;
}

function build(dir: string, tag: string) {
  return runCli([
    'modelcar',
    'build',
    '--model-dir',
    dir,
    '--image',
    `${proxy.host}/models/grouped:${tag}`,
    '--base',
    `${proxy.host}/base/busybox:1`,
    '--layer-threshold',
    '1KiB',
    '--max-layers',
    '10',
    '--cache-dir',
    join(work, 'cache'),
    '--output',
    'json',
  ]);
}

describe('preflight modelcar build --max-layers (the built CLI, a real registry behind a logging proxy)', () => {
  it('groups 20 large files into the layers the limit leaves; a pull-back has every file; the contract needs no read of the destination', async () => {
    const dir = await model();
    proxy.reset();
    const result = await build(dir, 'v1');
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const report = v.parse(reportSchema, JSON.parse(result.stdout));
    expect(report.contract).toEqual({ platform: 'linux/amd64', problems: [] });
    // busybox has 1 layer, the small files 1: 8 layers left for the 20 large files.
    expect(report.layers).toHaveLength(9);
    expect(report.layers.slice(1).flatMap((l) => l.files)).toEqual(
      Array.from({ length: 20 }, (_, i) => `shard-${String(i).padStart(2, '0')}.bin`),
    );
    const manifest = v.parse(manifestSchema, JSON.parse(await inspectRaw(registry, `models/grouped@${report.digest}`)));
    expect(manifest.layers.length).toBeLessThanOrEqual(10);

    // Pushed without reading anything of the destination back: no manifest GET, no blob GET.
    const destinationReads = proxy.log.filter(
      (e) => e.method === 'GET' && /^\/v2\/models\/grouped\/(manifests|blobs\/sha256)/.test(e.path),
    );
    expect(destinationReads).toEqual([]);
    expect(proxy.count('PUT', /^\/v2\/models\/grouped\/manifests\/v1$/)).toBe(1);

    // skopeo fsyncs every blob it stores in a layout.
    const pulled = join(await testdir({}, { fsyncFree: true }), 'oci');
    const copied = await skopeo([
      'copy',
      '--retry-times',
      '0',
      '--src-tls-verify=false',
      `docker://${registry.host}/models/grouped:v1`,
      `oci:${pulled}:pulled`,
    ]);
    expect(copied.code, copied.stderr).toBe(0);
    const bundle = join(pulled, '..', 'bundle');
    await exec('umoci', ['unpack', '--rootless', '--image', `${pulled}:pulled`, bundle]);
    for (const name of [
      'config.json',
      ...Array.from({ length: 20 }, (_, i) => `shard-${String(i).padStart(2, '0')}.bin`),
    ]) {
      expect(
        (await readFile(join(bundle, 'rootfs', 'models', name))).equals(await readFile(join(dir, name))),
        name,
      ).toBe(true);
    }
  });

  it('the same files give the same groups: a re-push has the same digest, every layer from the cache', async () => {
    const dir = await model();
    const first = v.parse(reportSchema, JSON.parse((await build(dir, 'v2')).stdout));
    proxy.reset();
    const again = await build(dir, 'v3');
    expect(again.code).toBe(0);
    const second = v.parse(reportSchema, JSON.parse(again.stdout));
    expect(second.digest).toBe(first.digest);
    expect(second.layers.map((l) => l.outcome)).toEqual(Array.from({ length: 9 }, () => 'cached'));
    expect(proxy.log.filter((e) => e.method === 'PATCH' || e.method === 'POST')).toEqual([]);
  });

  it('a --max-layers with no room for the model is a usage error naming the flag (exit 2)', async () => {
    const result = await runCli([
      'modelcar',
      'build',
      '--model-dir',
      await model(),
      '--image',
      `${proxy.host}/models/grouped:v4`,
      '--base',
      `${proxy.host}/base/busybox:1`,
      '--max-layers',
      '1',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max-layers 1 leaves no layer for the model: the base has 1/);
    const bad = await runCli([
      'modelcar',
      'build',
      '--model-dir',
      await model(),
      '--image',
      `${proxy.host}/models/grouped:v4`,
      '--max-layers',
      'lots',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-layers: "lots" is not auto or a number of layers/);
  });
});
