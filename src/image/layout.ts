import type { Readable } from 'node:stream';
import { UsageError } from '../errors.ts';
import { parseJson } from './documents.ts';
import { readTree } from './index-tree.ts';
import { DEFAULT_SOURCE_LIMITS, type SourceLimits } from './limits.ts';
import { indexSchema } from './schemas.ts';
import type { ManifestNode } from './types.ts';

/** A blob as a layout stores it: its size on disk and a stream from any offset. */
export interface StoredBlob {
  readonly size: number;
  open(offset: number): Readable;
}

/** Where a layout's files live: a directory or entries of a tar archive. */
export interface BlobStore {
  /** For messages: `oci-archive:/data/model.tar`. */
  readonly description: string;
  /**
   * A small file (`index.json`, `manifest.json`) read whole; undefined when absent. Refused (one
   * line) above `limit` bytes, before reading it, and when it is not a regular file of the store.
   */
  readFile(path: string, limit: number): Promise<Buffer | undefined>;
  /** `blobs/<alg>/<hex>` of a digest; undefined when absent. */
  blob(digest: string): Promise<StoredBlob | undefined>;
}

/** How a source is read: the caller's abort signal, and limits where real files may be bigger. */
export interface ReadOptions {
  readonly signal: AbortSignal;
  readonly limits?: SourceLimits;
}

const REF_ANNOTATION = 'org.opencontainers.image.ref.name';

/** Pick the image `ref` names in the layout's index.json (the only one when no ref is given) and read its tree. */
export async function readLayout(
  store: BlobStore,
  ref: string | undefined,
  options: ReadOptions,
): Promise<ManifestNode> {
  const limits = options.limits ?? DEFAULT_SOURCE_LIMITS;
  const indexBytes = await store.readFile('index.json', limits.documentBytes);
  if (indexBytes === undefined)
    throw new UsageError(`${store.description} has no index.json: not an OCI image layout`, {
      hint: 'create it with skopeo copy … oci:DIR:TAG or podman save --format oci-archive',
    });
  const index = parseJson(indexSchema, indexBytes, `${store.description}/index.json`);
  const refs = index.manifests.map((m) => m.annotations?.[REF_ANNOTATION]).filter((r) => r !== undefined);
  const chosen =
    ref === undefined
      ? index.manifests
      : index.manifests.filter((m) => m.annotations?.[REF_ANNOTATION] === ref || m.digest === ref);
  if (chosen.length !== 1 || chosen[0] === undefined) {
    const known = refs.length === 0 ? 'no named images' : refs.join(', ');
    const what = ref === undefined ? `holds ${index.manifests.length} images` : `has no image named "${ref}"`;
    throw new UsageError(`${store.description} ${what} (refs: ${known})`, {
      hint: `name one: ${store.description}:${refs[0] ?? 'REF'}`,
    });
  }
  return readTree(store, chosen[0], { signal: options.signal, limits });
}
