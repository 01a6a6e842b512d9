import type { Readable } from 'node:stream';

/**
 * A blob that can produce its bytes from any offset. Everything on the push path rests on this:
 * resume after a dropped connection, retry, and never spooling to temp disk.
 */
export interface BlobSource {
  /** `sha256:<hex>` when known up front (archives); undefined when it is computed while streaming. */
  readonly digest: string | undefined;
  readonly size: number;
  readonly mediaType: string;
  /** A fresh stream of the bytes from `offset` (0 ≤ offset ≤ size) to the end. */
  open(offset: number): Readable;
}

/** A manifest (image manifest or index) with the blobs and child manifests it references. */
export interface ManifestNode {
  readonly mediaType: string;
  /** The exact bytes to PUT: the digest is over these bytes, so they are never re-serialised. */
  readonly bytes: Buffer;
  readonly digest: string;
  /** Config and layers, for an image manifest; empty for an index. */
  readonly blobs: readonly BlobSource[];
  /** Platform manifests, for an index; empty for an image manifest. */
  readonly children: readonly ManifestNode[];
  /** `os/arch[/variant]` from the index entry or the config, when known. */
  readonly platform?: string;
}

/** An image read in place from an archive or a layout; `close` releases file handles. */
export interface SourceImage {
  readonly root: ManifestNode;
  /** Human-readable origin, for messages: `oci-archive:/data/model.tar`. */
  readonly description: string;
  close(): Promise<void>;
}
