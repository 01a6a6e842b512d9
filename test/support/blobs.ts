import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobSource, ManifestNode, SourceImage } from '../../src/image/types.ts';

export interface MemoryBlob extends BlobSource {
  readonly digest: string;
  readonly bytes: Buffer;
  /** Offsets `open` was called with, so a test can see what a resume re-read. */
  readonly opens: number[];
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * A blob held in memory that streams in 64 KiB pieces from any offset, like a file would.
 * `corrupt` serves different bytes than the digest promises (a damaged archive).
 */
export function memoryBlob(
  bytes: Buffer,
  options: { readonly mediaType?: string; readonly corrupt?: boolean } = {},
): MemoryBlob {
  const served =
    options.corrupt === true ? Buffer.from(bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 0xff : b))) : bytes;
  const opens: number[] = [];
  return {
    digest: sha256(bytes),
    size: bytes.length,
    mediaType: options.mediaType ?? 'application/vnd.oci.image.layer.v1.tar',
    bytes,
    opens,
    open(offset) {
      opens.push(offset);
      return Readable.from(pieces(served.subarray(offset)), { objectMode: false });
    },
  };
}

function* pieces(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += 65536) yield bytes.subarray(at, at + 65536);
}

export function randomBlob(size: number, options: { readonly corrupt?: boolean } = {}): MemoryBlob {
  return memoryBlob(randomBytes(size), options);
}

export interface TestManifest extends ManifestNode {
  readonly config: MemoryBlob;
  readonly layers: readonly MemoryBlob[];
}

/** An OCI image manifest over `layers`, with a linux/amd64 config naming them. */
export function imageManifest(layers: readonly MemoryBlob[], platform = 'linux/amd64'): TestManifest {
  return manifestOf(
    layers,
    layers.map((l) => l.digest),
    platform,
    {},
  );
}

/** An OCI image manifest with explicit diff_ids (compressed layers) and container config. */
export function manifestOf(
  layers: readonly MemoryBlob[],
  diffIds: readonly string[],
  platform: string,
  containerConfig: object,
): TestManifest {
  const [os = 'linux', architecture = 'amd64'] = platform.split('/');
  const configJson = { architecture, os, config: containerConfig, rootfs: { type: 'layers', diff_ids: diffIds } };
  const config = memoryBlob(Buffer.from(JSON.stringify(configJson)), {
    mediaType: 'application/vnd.oci.image.config.v1+json',
  });
  const descriptor = (b: MemoryBlob): object => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, config: descriptor(config), layers: layers.map(descriptor) }),
  );
  return {
    mediaType,
    bytes,
    digest: sha256(bytes),
    blobs: [config, ...layers],
    children: [],
    platform,
    config,
    layers,
  };
}

/** An OCI index over platform manifests, or over other indexes (entries without a platform). */
export function imageIndex(children: readonly ManifestNode[]): ManifestNode {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const manifests = children.map((c) => {
    const entry = { mediaType: c.mediaType, digest: c.digest, size: c.bytes.length };
    if (c.platform === undefined) return entry;
    const [os, architecture] = c.platform.split('/');
    return { ...entry, platform: { os, architecture } };
  });
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  return { mediaType, bytes, digest: sha256(bytes), blobs: [], children };
}

export function sourceImage(root: ManifestNode): SourceImage {
  return { root, description: 'memory:test', close: () => Promise.resolve() };
}
