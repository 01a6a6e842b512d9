import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageIndex, imageManifest, memoryBlob, randomBlob, type TestManifest } from '../support/blobs.ts';
import { runCli } from '../support/cli.ts';
import { writeLayout } from '../support/layout.ts';
import { inspectRaw, pullBack } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

const exec = promisify(execFile);
const MiB = 2 ** 20;

let plain: RegistryHandle;
let secured: RegistryHandle;
let root: string;
let layoutDir: string;
let archive: string;
let image: TestManifest;

beforeAll(async () => {
  [plain, secured] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd', tls: true })]);
  image = imageManifest([randomBlob(3 * MiB + 5), randomBlob(700_000), memoryBlob(Buffer.from('tiny'))]);
  // Not testdir(): its dirs go after each test, and these serve the whole file.
  root = await mkdtemp(join(tmpdir(), 'preflight-push-e2e-'));
  layoutDir = join(root, 'layout');
  await writeLayout(layoutDir, [{ root: image, ref: 'v1' }]);
  archive = join(root, 'image.tar');
  await exec('tar', ['-C', layoutDir, '-cf', archive, '.']);
});

afterAll(async () => {
  await Promise.all([plain.stop(), secured.stop(), rm(root, { recursive: true, force: true })]);
});

/** DOCKER_CONFIG for the secured registry, written as `docker login` would, mode 0600. */
async function dockerConfig(registry: RegistryHandle): Promise<string> {
  const dir = await testdir();
  const auth = Buffer.from(`${registry.username ?? ''}:${registry.password ?? ''}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }), { mode: 0o600 });
  return dir;
}

describe('preflight push (the built CLI against a real docker-registry)', () => {
  it('pushes an OCI layout, prints exactly repo@digest on stdout and writes --digest-file', async () => {
    const digestFile = join(await testdir(), 'out', 'digest');
    await exec('mkdir', ['-p', join(digestFile, '..')]);
    const result = await runCli([
      'push',
      `oci:${layoutDir}:v1`,
      `docker://${plain.host}/team/app:v1`,
      '--digest-file',
      digestFile,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${plain.host}/team/app@${image.digest}\n`);
    expect(await readFile(digestFile, 'utf8')).toBe(result.stdout);
    expect(await inspectRaw(plain, 'team/app:v1')).toBe(image.bytes.toString());
    // Without a TTY: plain progress lines on stderr, no cursor movement or carriage returns.
    expect(result.stderr).toMatch(/uploaded/);
    expect(result.stderr).not.toMatch(/\r|\u001b\[/);
  });

  it('pushes an oci-archive in chunked mode; a second push skips every blob (--output json)', async () => {
    const first = await runCli([
      'push',
      `oci-archive:${archive}:v1`,
      `${plain.host}/team/archive:v1`,
      '--upload-mode',
      'chunked',
      '--chunk-size',
      '1MiB',
      '--output',
      'json',
    ]);
    expect(first.code).toBe(0);
    const report: unknown = JSON.parse(first.stdout);
    expect(report).toMatchObject({
      schemaVersion: 1,
      digest: image.digest,
      reference: `${plain.host}/team/archive@${image.digest}`,
      bytes: { uploaded: image.blobs.reduce((n, b) => n + b.size, 0), skipped: 0 },
    });
    const read = await pullBack(plain, 'team/archive:v1');
    for (const layer of image.layers) expect((await read(layer.digest)).equals(layer.bytes)).toBe(true);

    const again = await runCli([
      'push',
      `oci-archive:${archive}:v1`,
      `${plain.host}/team/archive:v1`,
      '--output',
      'json',
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      bytes: { uploaded: 0, sent: 0, skipped: image.blobs.reduce((n, b) => n + b.size, 0) },
    });
  });

  it('pushes a multi-platform index from an archive', async () => {
    const dir = join(await testdir(), 'multi');
    const index = imageIndex([
      imageManifest([randomBlob(1000)], 'linux/amd64'),
      imageManifest([randomBlob(1000)], 'linux/arm64'),
    ]);
    await writeLayout(dir, [{ root: index, ref: 'v2' }]);
    const result = await runCli(['push', `oci:${dir}:v2`, `${plain.host}/team/multi:v2`]);
    expect(result.stdout).toBe(`${plain.host}/team/multi@${index.digest}\n`);
    expect(await inspectRaw(plain, 'team/multi:v2')).toBe(index.bytes.toString());
  });

  it('authenticates from DOCKER_CONFIG over TLS with --ca-file, and never prints the password, even with --debug', async () => {
    const env = { DOCKER_CONFIG: await dockerConfig(secured) };
    const result = await runCli(
      ['--debug', 'push', `oci:${layoutDir}:v1`, `${secured.host}/team/secure:v1`, '--ca-file', secured.caFile ?? ''],
      { env },
    );
    expect(result.stderr).not.toContain(secured.password ?? 'no password');
    expect(result.stdout).not.toContain(secured.password ?? 'no password');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${secured.host}/team/secure@${image.digest}\n`);
  });

  it('without credentials fails with one line naming the registry and what to do', async () => {
    const result = await runCli([
      'push',
      `oci:${layoutDir}:v1`,
      `${secured.host}/team/secure:v1`,
      '--ca-file',
      secured.caFile ?? '',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`error: ${secured.host}: authentication required and no credentials were found\n`);
    expect(result.stderr).toMatch(/hint: log in first \(podman login .*DOCKER_CONFIG/);
  });

  it('without the CA the TLS registry is refused, never downgraded to plain HTTP', async () => {
    const env = { DOCKER_CONFIG: await dockerConfig(secured) };
    const result = await runCli(['push', `oci:${layoutDir}:v1`, `${secured.host}/team/secure:v2`], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/certificate/i);
  });

  it('a corrupt source blob fails the push and no manifest is written', async () => {
    const dir = join(await testdir(), 'corrupt');
    const bad = imageManifest([randomBlob(MiB, { corrupt: true })]);
    await writeLayout(dir, [{ root: bad, ref: 'v1' }]);
    // writeLayout wrote the true bytes: damage the file on disk the way a bad copy would.
    const layerPath = join(dir, 'blobs', 'sha256', (bad.layers[0]?.digest ?? '').slice(7));
    const bytes = await readFile(layerPath);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(layerPath, bytes);
    const result = await runCli(['push', `oci:${dir}:v1`, `${plain.host}/team/corrupt:v1`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is corrupt in the source/);
    await expect(inspectRaw(plain, 'team/corrupt:v1')).rejects.toThrow(/manifest unknown/i);
    expect((await stat(layerPath)).size).toBe(MiB);
  });

  it.each([
    [['push', 'docker://busybox', 'x'], /"docker:\/\/busybox" is not an image source/],
    [['push', 'oci:/nonexistent:v1', '127.0.0.1:1/x:v1'], /oci:\/nonexistent: no such directory/],
    [['push', 'oci:LAYOUT:v1', 'Not A Ref'], /Not A Ref/],
    [['push', 'oci:LAYOUT:v1', '127.0.0.1:1/x:v1', '--chunk-size', 'lots'], /--chunk-size: "lots" is not a size/],
    [
      ['push', 'oci:LAYOUT:v1', '127.0.0.1:1/x:v1', '--concurrency', '0'],
      /--concurrency: "0" is not a number from 1 to 64/,
    ],
    [
      [
        'push',
        'oci:LAYOUT:v1',
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:v1',
        '--upload-mode',
        'chunked',
        '--chunk-size',
        '1MiB',
      ],
      /outside ECR's part limits/,
    ],
  ])('bad input %j → exit 2 with a one-line error', async (args, message) => {
    const result = await runCli(args.map((a) => a.replace('LAYOUT', layoutDir)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('documents every flag in --help', async () => {
    const result = await runCli(['push', '--help']);
    const help = result.stdout.replace(/\s+/g, ' ');
    for (const flag of [
      '--upload-mode',
      'default: "auto"',
      '--chunk-size',
      'default: "8MiB"',
      '--concurrency',
      '--insecure-registry',
      '--ca-file',
      '--digest-file',
      '--output',
      'oci-archive:PATH',
    ]) {
      expect(help).toContain(flag);
    }
  });
});
