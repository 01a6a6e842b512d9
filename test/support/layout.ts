import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ManifestNode } from '../../src/image/types.ts';
import type { MemoryBlob } from './blobs.ts';

export interface LayoutImage {
  readonly root: ManifestNode;
  readonly ref: string;
}

/**
 * The files of an OCI image layout for `images` (trees built with blobs.ts), path → bytes, each
 * named `ref` in index.json. Index children are included, so the layout is complete; a node reached
 * by several paths (a DAG) is listed once.
 */
export function layoutFiles(images: readonly LayoutImage[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const add = (digest: string, bytes: Buffer): void =>
    void files.set(join('blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  const seen = new Set<ManifestNode>();
  const visit = (node: ManifestNode): void => {
    if (seen.has(node)) return;
    seen.add(node);
    add(node.digest, node.bytes);
    for (const blob of node.blobs) if (isMemoryBlob(blob)) add(blob.digest, blob.bytes);
    node.children.forEach(visit);
  };
  for (const { root } of images) visit(root);
  const manifests = images.map(({ root, ref }) => ({
    mediaType: root.mediaType,
    digest: root.digest,
    size: root.bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': ref },
  }));
  files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })));
  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  return files;
}

/** Write the layout of {@link layoutFiles} to `dir`. */
export async function writeLayout(dir: string, images: readonly LayoutImage[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [path, bytes] of layoutFiles(images)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
}

function isMemoryBlob(blob: unknown): blob is MemoryBlob {
  return typeof blob === 'object' && blob !== null && 'bytes' in blob && Buffer.isBuffer(blob.bytes);
}
