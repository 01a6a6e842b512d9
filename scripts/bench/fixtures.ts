// Benchmark inputs: an OCI layout of random layers (incompressible, like model weights) and the
// same layout as an oci-archive tar.
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { run } from './measure.ts';

export interface Layout {
  readonly dir: string;
  readonly archive: string;
  /** Paths of the layer blobs, for the curl baseline. */
  readonly layerFiles: readonly string[];
  readonly totalBytes: number;
}

const CHUNK = 4 * 2 ** 20;

export async function makeLayout(root: string, layers: number, layerSize: number): Promise<Layout> {
  const dir = join(root, 'layout');
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const descriptors: { mediaType: string; digest: string; size: number }[] = [];
  const layerFiles: string[] = [];
  for (let i = 0; i < layers; i++) {
    const { digest, path } = await randomBlob(blobs, layerSize);
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: layerSize });
    layerFiles.push(path);
  }
  const writeJson = async (value: object, mediaType: string) => {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(join(blobs, digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const config = await writeJson(
    {
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) },
    },
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = await writeJson(
    { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: descriptors },
    'application/vnd.oci.image.manifest.v1+json',
  );
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
    }),
  );
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const archive = join(root, 'image.tar');
  await run('tar', ['-C', dir, '-cf', archive, '.']);
  return { dir, archive, layerFiles, totalBytes: layers * layerSize };
}

async function randomBlob(dir: string, size: number): Promise<{ digest: string; path: string }> {
  const temp = join(dir, `tmp-${String(Math.random()).slice(2)}`);
  const out = createWriteStream(temp);
  const hash = createHash('sha256');
  for (let written = 0; written < size; written += CHUNK) {
    const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(CHUNK, size - written)));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  const digest = `sha256:${hash.digest('hex')}`;
  const path = join(dir, digest.slice(7));
  await run('mv', [temp, path]);
  return { digest, path };
}
