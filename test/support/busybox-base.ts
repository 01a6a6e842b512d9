import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pushImage } from '../../src/registry/push.ts';
import { imageIndex, manifestOf, memoryBlob, sourceImage, type TestManifest } from './blobs.ts';
import { createTransport } from '../../src/registry/client.ts';
import type { RegistryHandle } from './registry.ts';

const exec = promisify(execFile);

export interface BusyboxBase {
  /** `HOST/base/busybox:1` (the repository and tag given) */
  readonly reference: string;
  readonly amd64: TestManifest;
}

/**
 * A real base image from Debian's busybox-static: /bin/busybox with sh, ln and sleep links, as one
 * gzip layer (like a real base), pushed as an index. The linux/arm64 entry is a stand-in carrying
 * the same x86-64 binary: it exists to exercise platform selection, and is never run.
 */
export async function pushBusyboxBase(
  registry: RegistryHandle,
  repository = 'base/busybox',
  tag = '1',
): Promise<BusyboxBase> {
  const dir = await mkdtemp(join(tmpdir(), 'preflight-busybox-'));
  try {
    const root = join(dir, 'rootfs');
    await mkdir(join(root, 'bin'), { recursive: true });
    await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const applet of ['sh', 'ln', 'sleep', 'ls', 'cat']) await symlink('busybox', join(root, 'bin', applet));
    const tar = join(dir, 'layer.tar');
    await exec('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      root,
      '-cf',
      tar,
      'bin',
    ]);
    const diff = memoryBlob(await readFile(tar));
    await exec('gzip', ['-n', tar]);
    const layer = memoryBlob(await readFile(`${tar}.gz`), { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    const config = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] };
    const amd64 = manifestOf([layer], [diff.digest], 'linux/amd64', config);
    const arm64 = manifestOf([layer], [diff.digest], 'linux/arm64', config);
    const index = imageIndex([amd64, arm64]);
    // Not push-helpers' testTransport: this file also serves the benchmark, which runs outside vitest.
    const auth = Buffer.from(`${registry.username ?? ''}:${registry.password ?? ''}`).toString('base64');
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: registry.username === undefined ? {} : { [registry.host]: { auth } } }),
      { mode: 0o600 },
    );
    const transport = await createTransport(registry.host, {
      env: { DOCKER_CONFIG: dir },
      insecureRegistries: [],
      caFile: registry.caFile,
      log: { debug: () => undefined },
      userAgent: 'preflight-test',
    });
    try {
      await pushImage(sourceImage(index), {
        transport,
        repository,
        tag,
        mode: 'stream',
        chunkSize: 2 ** 20,
        concurrency: 2,
      });
    } finally {
      await transport.close();
    }
    return { reference: `${registry.host}/${repository}:${tag}`, amd64 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
