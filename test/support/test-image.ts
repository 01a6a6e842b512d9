import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type RegistryHandle, registryCredentialsArgs, skopeo } from './registry.ts';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface TestImage {
  /** `HOST/repo:tag` */
  readonly reference: string;
  /** The exact manifest bytes pushed. */
  readonly manifest: string;
  readonly manifestDigest: string;
  readonly config: Descriptor;
  readonly layer: Descriptor;
}

/**
 * Build a one-layer OCI image layout by hand (no docker) and copy it to `repo:tag` with skopeo. The
 * content depends only on repo and tag, so pushing the same name twice gives the same digests.
 */
export async function pushTestImage(handle: RegistryHandle, repo: string, tag: string): Promise<TestImage> {
  const dir = await mkdtemp(join(tmpdir(), 'preflight-oci-'));
  try {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const writeBlob = async (mediaType: string, bytes: Buffer): Promise<Descriptor> => {
      const descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
      await writeFile(join(dir, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length)), bytes);
      return descriptor;
    };
    const tar = tarFile('hello.txt', Buffer.from(`hello from ${repo}:${tag}\n`));
    const layer = await writeBlob('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(tar));
    const configJson = {
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    };
    const config = await writeBlob('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(configJson)));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers: [layer],
    });
    const manifestDescriptor = await writeBlob('application/vnd.oci.image.manifest.v1+json', Buffer.from(manifest));
    const index = {
      schemaVersion: 2,
      manifests: [{ ...manifestDescriptor, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    };
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

    const reference = `${handle.host}/${repo}:${tag}`;
    // --preserve-digests: fail rather than let skopeo rewrite the manifest the test compares against.
    const args = [
      'copy',
      '--retry-times',
      '0',
      '--preserve-digests',
      '--dest-tls-verify=false',
      ...registryCredentialsArgs(handle, '--dest-creds'),
    ];
    const result = await skopeo([...args, `oci:${dir}:${tag}`, `docker://${reference}`]);
    if (result.code !== 0)
      throw new Error(`skopeo copy to ${reference} failed (${String(result.code)}): ${result.stderr}`);
    return { reference, manifest, manifestDigest: manifestDescriptor.digest, config, layer };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A ustar archive holding one regular file; enough of the format for a registry and skopeo. */
function tarFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): number => header.write(value, offset, length, 'ascii');
  field(0, 100, name);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, `${data.length.toString(8).padStart(11, '0')}\0`);
  field(136, 12, '00000000000\0');
  field(148, 8, ' '.repeat(8)); // the checksum is computed with its own field as spaces
  field(156, 1, '0');
  field(257, 8, 'ustar\u000000');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}
