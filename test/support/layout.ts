import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestNode } from '../../src/image/types.ts';
import type { MemoryBlob } from './blobs.ts';

/**
 * Write an OCI image layout for `root` (a tree built with blobs.ts) to `dir`, naming it `ref` in
 * index.json. Index children are written too, so the layout is complete.
 */
export async function writeLayout(dir: string, images: readonly { readonly root: ManifestNode; readonly ref: string }[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const write = (digest: string, bytes: Buffer): Promise<void> => writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  const visit = async (node: ManifestNode): Promise<void> => {
    await write(node.digest, node.bytes);
    for (const blob of node.blobs) if (isMemoryBlob(blob)) await write(blob.digest, blob.bytes);
    for (const child of node.children) await visit(child);
  };
  for (const { root } of images) await visit(root);
  const manifests = images.map(({ root, ref }) => ({ mediaType: root.mediaType, digest: root.digest, size: root.bytes.length, annotations: { 'org.opencontainers.image.ref.name': ref } }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

function isMemoryBlob(blob: unknown): blob is MemoryBlob {
  return typeof blob === 'object' && blob !== null && 'bytes' in blob && Buffer.isBuffer(blob.bytes);
}
