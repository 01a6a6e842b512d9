import { sha256 } from '../util/sha256.ts';
import type { BaseImage } from '../registry/base-image.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

// Same bytes, OCI names: an OCI manifest should not carry Docker media types.
const DOCKER_TO_OCI: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': OCI_LAYER_TAR,
  'application/vnd.docker.container.image.v1+json': OCI_CONFIG,
};

export interface ModelLayer {
  readonly digest: string;
  readonly size: number;
  readonly description: string;
}

export interface ImageBytes {
  readonly config: Buffer;
  readonly manifest: Buffer;
}

/**
 * The modelcar's config and manifest for one platform: the base's config with the model layers'
 * diff_ids (uncompressed layers: diff_id = digest), one history entry per layer, labels, and the
 * given creation time. Entrypoint and Cmd are the base's: KServe passes its command as args.
 */
export function modelcarImage(
  base: BaseImage,
  layers: readonly ModelLayer[],
  options: { readonly created: string; readonly labels: Readonly<Record<string, string>>; readonly baseName: string },
): ImageBytes {
  const config = structuredClone(base.configJson);
  const rootfs = record(config.rootfs);
  const diffIds = Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids.map(String) : [];
  config.rootfs = { type: 'layers', diff_ids: [...diffIds, ...layers.map((l) => l.digest)] };
  const history = Array.isArray(config.history) ? config.history.map((h: unknown) => h) : [];
  config.history = [
    ...history,
    ...layers.map((l) => ({
      created: options.created,
      created_by: `preflight modelcar build: COPY ${l.description}`,
      comment: 'preflight',
    })),
  ];
  config.created = options.created;
  const inner = record(config.config);
  inner.Labels = {
    ...record(inner.Labels),
    'org.opencontainers.image.created': options.created,
    'org.opencontainers.image.base.name': options.baseName,
    'org.opencontainers.image.base.digest': base.manifest.digest,
    ...options.labels,
  };
  config.config = inner;
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length },
    layers: [
      ...base.layers.map((l) => ({
        mediaType: DOCKER_TO_OCI[l.mediaType] ?? l.mediaType,
        digest: l.digest,
        size: l.size,
      })),
      ...layers.map((l) => ({ mediaType: OCI_LAYER_TAR, digest: l.digest, size: l.size })),
    ],
    annotations: {
      'org.opencontainers.image.created': options.created,
      'org.opencontainers.image.base.name': options.baseName,
      'org.opencontainers.image.base.digest': base.manifest.digest,
    },
  };
  return { config: configBytes, manifest: Buffer.from(JSON.stringify(manifest)) };
}

/** An OCI index over per-platform manifests. */
export function modelcarIndex(
  children: readonly { readonly digest: string; readonly size: number; readonly platform: string }[],
): Buffer {
  const manifests = children.map((c) => {
    const [os, architecture, variant] = c.platform.split('/');
    return {
      mediaType: OCI_MANIFEST,
      digest: c.digest,
      size: c.size,
      platform: { os, architecture, ...(variant === undefined ? {} : { variant }) },
    };
  });
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value));
}
