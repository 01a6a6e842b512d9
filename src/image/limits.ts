import { MAX_MANIFEST_BYTES } from '../registry/manifest.ts';

// Bounds on what reading an image source may cost. Archives and layouts come from other people: a
// document that claims gigabytes, or an index that lists an index forty times, must cost no more
// than a real image does.

/** Manifests and indexes: what registries (ECR among them) accept, so nothing bigger could be pushed anyway. */
export { MAX_MANIFEST_BYTES };

/**
 * index.json, a docker-archive's manifest.json and image configs: 4 MiB like manifests by default.
 * Real configs with a long history can be bigger, so callers may raise it (see {@link SourceLimits}).
 */
export const DEFAULT_DOCUMENT_BYTES = 4 * 2 ** 20;

/** An index of indexes of manifests is 3 deep (a multi-arch image inside a layout's index); one level of slack. */
export const MAX_INDEX_DEPTH = 4;

/**
 * Distinct manifests and indexes below one image. A multi-arch image with attestations has a few
 * dozen (two per platform); 500 leaves room for the largest real ones and stops a fan-out.
 */
export const MAX_MANIFESTS = 500;

/** Documents read at once while walking an index tree: each holds a file descriptor. */
export const MAX_CONCURRENT_READS = 8;

export interface SourceLimits {
  /** Largest index.json, docker manifest.json or image config read, in bytes. */
  readonly documentBytes: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = { documentBytes: DEFAULT_DOCUMENT_BYTES };
