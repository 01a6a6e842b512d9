import { execFile } from 'node:child_process';
import { chmod, lstat, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { runCli } from '../support/cli.ts';
import { inspectRaw } from '../support/push-helpers.ts';
import { type RegistryHandle, registryCredentialsArgs, skopeo, startRegistry } from '../support/registry.ts';
import { pushTestImage } from '../support/test-image.ts';
import { testdir } from '../support/testdir.ts';

const exec = promisify(execFile);

const reportSchema = v.object({
  reference: v.string(),
  digest: v.string(),
  layers: v.array(v.object({ description: v.string(), digest: v.string(), outcome: v.string() })),
  bytes: v.object({ uploaded: v.number(), sent: v.number() }),
  model: v.object({ bytes: v.number(), bytesRead: v.number() }),
  contract: v.object({ problems: v.array(v.string()) }),
  blobs: v.array(v.object({ digest: v.string(), outcome: v.string() })),
});
const report = (stdout: string) => v.parse(reportSchema, JSON.parse(stdout));
const indexSchema = v.object({
  mediaType: v.string(),
  manifests: v.array(v.object({ digest: v.string(), platform: v.object({ architecture: v.string() }) })),
});
const manifestSchema = v.object({ layers: v.array(v.object({ digest: v.string() })) });
const runtimeConfig = v.object({ process: v.object({ args: v.array(v.string()) }) });

let registry: RegistryHandle;
let other: RegistryHandle;
let base: BusyboxBase;
let work: string;

beforeAll(async () => {
  [registry, other] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd' })]);
  base = await pushBusyboxBase(registry);
  work = await mkdtemp(join(tmpdir(), 'preflight-modelcar-e2e-'));
});

afterAll(async () => {
  await Promise.all([registry.stop(), other.stop(), rm(work, { recursive: true, force: true })]);
});

/** A model directory with the hostile cases: unicode and long names, empty files, nesting, an inside link. */
async function model(): Promise<string> {
  const dir = await testdir({
    'config.json': '{"architectures": ["MistralForCausalLM"]}',
    'tokenizer/tokenizer.json': '{"version": "1.0"}',
    'empty.txt': '',
    'poids-ünïcødé/模型.bin': 'unicode',
    [`${'d'.repeat(60)}/${'f'.repeat(90)}.txt`]: 'long path',
  });
  await writeFile(join(dir, 'model-00001-of-00002.safetensors'), Buffer.alloc(300_000, 1));
  await writeFile(join(dir, 'model-00002-of-00002.safetensors'), Buffer.alloc(200_000, 2));
  await symlink('config.json', join(dir, 'generation_config.json'));
  return dir;
}

function build(modelDir: string, image: string, extra: readonly string[] = [], env: Record<string, string> = {}) {
  return runCli(
    [
      'modelcar',
      'build',
      '--model-dir',
      modelDir,
      '--image',
      `${registry.host}/${image}`,
      '--base',
      base.reference,
      '--layer-threshold',
      '100KiB',
      '--cache-dir',
      join(work, 'cache'),
      ...extra,
    ],
    { env },
  );
}

/** Pull the image back with skopeo, unpack it with umoci, return the rootfs path. */
async function unpack(reference: string): Promise<string> {
  // skopeo fsyncs every blob it stores in a layout.
  const dir = await testdir({}, { fsyncFree: true });
  const result = await skopeo([
    'copy',
    '--retry-times',
    '0',
    '--src-tls-verify=false',
    ...registryCredentialsArgs(registry, '--src-creds'),
    `docker://${reference}`,
    `oci:${join(dir, 'oci')}:pulled`,
  ]);
  if (result.code !== 0) throw new Error(result.stderr);
  await exec('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'oci')}:pulled`, join(dir, 'bundle')]);
  return join(dir, 'bundle', 'rootfs');
}

describe('preflight modelcar build (the built CLI, a busybox-static base, a real registry)', () => {
  it('pushes base + model; skopeo and umoci get back every file byte for byte, world-readable, with sh present', async () => {
    const dir = await model();
    const result = await build(dir, 'models/mistral:v1', ['--output', 'json']);
    expect(result.stderr).not.toMatch(/error/);
    expect(result.code).toBe(0);
    const parsed = report(result.stdout);
    expect(parsed.reference).toBe(`${registry.host}/models/mistral@${parsed.digest}`);
    expect(parsed.contract.problems).toEqual([]);
    expect(parsed.layers.map((l) => l.description)).toEqual([
      'models/(directories, links and 5 small files)',
      'models/model-00001-of-00002.safetensors',
      'models/model-00002-of-00002.safetensors',
    ]);
    const rootfs = await unpack(`${registry.host}/models/mistral:v1`);
    expect(await readlink(join(rootfs, 'bin', 'sh'))).toBe('busybox');
    for (const file of [
      'config.json',
      'tokenizer/tokenizer.json',
      'empty.txt',
      'poids-ünïcødé/模型.bin',
      `${'d'.repeat(60)}/${'f'.repeat(90)}.txt`,
      'model-00001-of-00002.safetensors',
    ]) {
      const pulled = join(rootfs, 'models', file);
      expect((await readFile(pulled)).equals(await readFile(join(dir, file))), file).toBe(true);
      expect((await lstat(pulled)).mode & 0o777, file).toBe(0o644);
    }
    expect((await lstat(join(rootfs, 'models'))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(rootfs, 'models', 'generation_config.json'))).toBe('config.json');
    const config = v.parse(runtimeConfig, JSON.parse(await readFile(join(rootfs, '..', 'config.json'), 'utf8')));
    // No ENTRYPOINT added: the base's Cmd stays, KServe passes its own command.
    expect(config.process.args).toEqual(['sh']);
  });

  it('gives the same digest for the same directory, hashing nothing the second time (cache), and a changed file changes only its layer', async () => {
    const dir = await model();
    const first = report((await build(dir, 'models/same:v1', ['--output', 'json'])).stdout);
    const again = await build(dir, 'models/same:v2', ['--output', 'json', '--debug']);
    expect(again.code).toBe(0);
    // The same digest met the contract on the first push: the re-push does not read the layers again.
    expect(again.stderr).toContain('met the modelcar contract before (digest cache)');
    const second = report(again.stdout);
    expect(second.digest).toBe(first.digest);
    expect(second.layers.map((l) => l.outcome)).toEqual(['cached', 'cached', 'cached']);
    expect(second.bytes.uploaded).toBe(0);
    // Each model byte read once on the first push, none on the unchanged re-push.
    expect(first.model.bytesRead).toBe(first.model.bytes);
    expect(second.model.bytesRead).toBe(0);

    const noCache = report((await build(dir, 'models/same:v3', ['--output', 'json', '--no-cache'])).stdout);
    expect(noCache.digest).toBe(first.digest);

    await writeFile(join(dir, 'model-00002-of-00002.safetensors'), Buffer.alloc(200_000, 3));
    const changed = report((await build(dir, 'models/same:v4', ['--output', 'json'])).stdout);
    expect(changed.digest).not.toBe(first.digest);
    expect(changed.layers.map((l, i) => l.digest === first.layers[i]?.digest)).toEqual([true, true, false]);
    expect(changed.layers.map((l) => l.outcome)).toEqual(['cached', 'cached', 'uploaded']);
  });

  it("after a chmod of every file to its own mode (only ctime moves, as with kubelet's fsGroup), hashes locally and uploads nothing", async () => {
    const dir = await model();
    const first = report((await build(dir, 'models/chmod:v1', ['--output', 'json'])).stdout);
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      if (entry.isFile()) await chmod(path, (await lstat(path)).mode & 0o7777);
    }
    const again = await build(dir, 'models/chmod:v2', ['--output', 'json', '--debug']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/only ctime changed since digest sha256:\w+ was cached \(a chown or chmod/);
    const second = report(again.stdout);
    expect(second.layers.map((l) => l.outcome)).toEqual(['rehashed', 'rehashed', 'rehashed']);
    expect(second.digest).toBe(first.digest);
    expect(second.bytes).toMatchObject({ uploaded: 0, sent: 0 });
    expect(second.model.bytesRead).toBe(second.model.bytes);
  });

  it('pushes an index for several platforms, sharing the model layers', async () => {
    const dir = await model();
    const result = await build(dir, 'models/multi:v1', ['--platform', 'linux/amd64,linux/arm64']);
    expect(result.code).toBe(0);
    const index = v.parse(indexSchema, JSON.parse(await inspectRaw(registry, 'models/multi:v1')));
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    const layersOf = async (digest: string): Promise<string[]> =>
      v
        .parse(manifestSchema, JSON.parse(await inspectRaw(registry, `models/multi@${digest}`)))
        .layers.map((l) => l.digest)
        .slice(1);
    expect(await layersOf(index.manifests[0]?.digest ?? '')).toEqual(await layersOf(index.manifests[1]?.digest ?? ''));
  });

  it('streams the base from another registry (registry to registry, no disk)', async () => {
    const dir = await model();
    const dockerConfig = await testdir();
    const auth = Buffer.from(`${other.username ?? ''}:${other.password ?? ''}`).toString('base64');
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [other.host]: { auth } } }), {
      mode: 0o600,
    });
    const result = await runCli(
      [
        'modelcar',
        'build',
        '--model-dir',
        dir,
        '--image',
        `${other.host}/models/elsewhere:v1`,
        '--base',
        base.reference,
        '--no-cache',
        '--output',
        'json',
      ],
      { env: { DOCKER_CONFIG: dockerConfig } },
    );
    expect(result.stderr).not.toContain(other.password ?? 'none');
    expect(result.code).toBe(0);
    const parsed = report(result.stdout);
    expect(parsed.blobs.find((b) => b.digest === base.amd64.layers[0]?.digest)?.outcome).toBe('uploaded');
  });

  it.each([
    ['a missing model dir', async () => join(await testdir(), 'nope'), [], /--model-dir .*nope does not exist/],
    ['an empty model dir', async () => testdir(), [], /holds no files/],
    [
      'a FIFO in the model',
      async () => {
        const d = await testdir({ 'a.txt': 'x' });
        await exec('mkfifo', [join(d, 'fifo')]);
        return d;
      },
      [],
      /fifo is a FIFO/,
    ],
    [
      'a link leading outside',
      async () => {
        const d = await testdir({ 'a.txt': 'x' });
        await symlink('/etc/hostname', join(d, 'out'));
        return d;
      },
      [],
      /out is a symlink to \/etc\/hostname, outside the model directory/,
    ],
    [
      'a base without the platform',
      async () => model(),
      ['--platform', 'linux/s390x'],
      /has no linux\/s390x image \(it offers linux\/amd64, linux\/arm64\)/,
    ],
    ['a bad label', async () => model(), ['--label', 'novalue'], /--label "novalue" is not key=value/],
    ['a bad platform', async () => model(), ['--platform', 'amd64'], /--platform: "amd64" is not os\/arch/],
  ])('%s: exit 2, one line, nothing pushed', async (name, make, extra, message) => {
    const repository = `bad/${name.replace(/[^a-z0-9]+/g, '-')}`;
    const result = await build(await make(), `${repository}:v1`, extra);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    await expect(inspectRaw(registry, `${repository}:v1`)).rejects.toThrow(/manifest unknown|name unknown|not found/i);
  });

  // Switching uid needs root; CI runs as root, and there a missing capability must fail, not skip.
  it.runIf(process.getuid?.() === 0 || process.env.CI === 'true')(
    'a file the pod uid cannot read: exit 2 naming it and the fix, nothing pushed',
    async () => {
      // As on a PVC written by another pod: the tree is traversable, one weights file is root-only.
      const dir = await testdir({ 'config.json': '{}' });
      await chmod(dir, 0o755);
      const secretWeights = join(dir, 'model.safetensors');
      await writeFile(secretWeights, Buffer.alloc(1000, 1), { mode: 0o600 });
      const result = await runCli(
        [
          'modelcar',
          'build',
          '--model-dir',
          dir,
          '--image',
          `${registry.host}/bad/unreadable:v1`,
          '--base',
          base.reference,
          '--no-cache',
        ],
        { asUser: { uid: 1000770000, gid: 0 }, env: { HOME: '/' }, cwd: '/' },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot read .*model\.safetensors \(EACCES\)/);
      expect(result.stderr).toMatch(/group 0 needs r-x on dirs, r on files/);
      await expect(inspectRaw(registry, 'bad/unreadable:v1')).rejects.toThrow(
        /manifest unknown|name unknown|not found/i,
      );
    },
  );

  it('preflight check --only modelcar-contract passes the modelcar and fails the bare base, from tar headers', async () => {
    const dir = await model();
    expect((await build(dir, 'models/contract:v1')).code).toBe(0);
    const ok = await runCli(['check', '--only', 'modelcar-contract', '--image', `${registry.host}/models/contract:v1`]);
    expect(ok.stdout).toMatch(/meets the modelcar contract/);
    expect(ok.code).toBe(0);
    const bare = await runCli(['check', '--only', 'modelcar-contract', '--image', base.reference, '--output', 'json']);
    expect(bare.code).toBe(3);
    expect(bare.stdout).toMatch(/has no \/models/);
  });

  it('refuses a base without sh before uploading anything', async () => {
    const dir = await model();
    const noShell = await pushTestImage(registry, 'base/no-shell', '1');
    const result = await runCli([
      'modelcar',
      'build',
      '--model-dir',
      dir,
      '--image',
      `${registry.host}/bad/no-sh:v1`,
      '--base',
      noShell.reference,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/base image .*base\/no-shell:1 has no sh/);
    await expect(inspectRaw(registry, 'bad/no-sh:v1')).rejects.toThrow(/manifest unknown|name unknown/i);
  });

  it('documents its flags', async () => {
    const help = (await runCli(['modelcar', 'build', '--help'])).stdout.replace(/\s+/g, ' ');
    for (const flag of [
      '--model-dir',
      'env: MODEL_DIR',
      '--image',
      '--base',
      '--platform',
      'default: "linux/amd64"',
      '--models-path',
      'default: "/models"',
      '--layer-threshold',
      'default: "64MiB"',
      '--label',
      '--cache-dir',
      '--no-cache',
      '--digest-file',
      '--output',
      'SOURCE_DATE_EPOCH',
    ]) {
      expect(help).toContain(flag);
    }
  });
});
