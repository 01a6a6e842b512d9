import type { Readable } from 'node:stream';
import * as v from 'valibot';
import { type Descriptor, configPlatformSchema, firstIssue, indexSchema, manifestSchema } from './schemas.ts';
import { UsageError } from '../errors.ts';
import { sha256 } from '../util/sha256.ts';
import type { BlobSource, ManifestNode } from './types.ts';

/** A blob as a layout stores it: its size on disk and a stream from any offset. */
export interface StoredBlob {
  readonly size: number;
  open(offset: number): Readable;
}

/** Where a layout's files live: a directory or entries of a tar archive. */
export interface BlobStore {
  /** For messages: `oci-archive:/data/model.tar`. */
  readonly description: string;
  /** A small file (`index.json`, `manifest.json`) read whole; undefined when absent. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** `blobs/<alg>/<hex>` of a digest; undefined when absent. */
  blob(digest: string): Promise<StoredBlob | undefined>;
}

const SMALL_LIMIT = 4 * 2 ** 20;
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const REF_ANNOTATION = 'org.opencontainers.image.ref.name';


/** Pick the image `ref` names in the layout's index.json (the only one when no ref is given) and read its tree. */
export async function readLayout(store: BlobStore, ref: string | undefined): Promise<ManifestNode> {
  const indexBytes = await store.readFile('index.json');
  if (indexBytes === undefined) throw new UsageError(`${store.description} has no index.json: not an OCI image layout`, { hint: 'create it with skopeo copy … oci:DIR:TAG or podman save --format oci-archive' });
  const index = parseJson(indexSchema, indexBytes, `${store.description}/index.json`);
  const refs = index.manifests.map((m) => m.annotations?.[REF_ANNOTATION]).filter((r) => r !== undefined);
  const chosen = ref === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_ANNOTATION] === ref || m.digest === ref);
  if (chosen.length !== 1 || chosen[0] === undefined) {
    const known = refs.length === 0 ? 'no named images' : refs.join(', ');
    const what = ref === undefined ? `holds ${index.manifests.length} images` : `has no image named "${ref}"`;
    throw new UsageError(`${store.description} ${what} (refs: ${known})`, { hint: `name one: ${store.description}:${refs[0] ?? 'REF'}` });
  }
  return readNode(store, chosen[0], undefined);
}

/** A manifest or index and everything below it; manifests and configs are small and read (and verified) now. */
export async function readNode(store: BlobStore, descriptor: Descriptor, platformHint: string | undefined): Promise<ManifestNode> {
  const bytes = await readVerified(store, descriptor);
  const parsed: unknown = JSON.parse(bytes.toString('utf8'));
  const declared = typeof parsed === 'object' && parsed !== null && 'mediaType' in parsed && typeof parsed.mediaType === 'string' ? parsed.mediaType : undefined;
  const mediaType = declared ?? descriptor.mediaType;
  const platform = descriptor.platform === undefined ? platformHint : platformString(descriptor.platform);
  if (INDEX_TYPES.has(mediaType)) {
    const index = parseJson(indexSchema, bytes, `${store.description} ${descriptor.digest}`);
    const children = await Promise.all(index.manifests.map((m) => readNode(store, m, undefined)));
    return { mediaType, bytes, digest: descriptor.digest, blobs: [], children };
  }
  const manifest = parseJson(manifestSchema, bytes, `${store.description} ${descriptor.digest}`);
  const blobs: BlobSource[] = [];
  for (const layer of [manifest.config, ...manifest.layers]) {
    const blob = await storedBlob(store, layer);
    if (blob !== undefined) blobs.push(blob);
  }
  const resolved = platform ?? (await configPlatform(store, manifest.config));
  return { mediaType, bytes, digest: descriptor.digest, blobs, children: [], ...(resolved === undefined ? {} : { platform: resolved }) };
}

async function storedBlob(store: BlobStore, descriptor: Descriptor): Promise<BlobSource | undefined> {
  const stored = await store.blob(descriptor.digest);
  if (stored === undefined) {
    // Foreign layers (Windows bases) are not in layouts and not pushed: registries fetch them elsewhere.
    if (/nondistributable|foreign/.test(descriptor.mediaType)) return undefined;
    throw new UsageError(`${store.description} is missing blob ${descriptor.digest}`, { hint: 'the layout is incomplete; export the image again' });
  }
  if (stored.size !== descriptor.size) {
    throw new UsageError(`${store.description}: blob ${descriptor.digest} is ${stored.size} bytes, the manifest says ${descriptor.size} (truncated or damaged)`, { hint: 'export the image again' });
  }
  return { digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType, open: (offset) => stored.open(offset) };
}

async function configPlatform(store: BlobStore, descriptor: Descriptor): Promise<string | undefined> {
  const config = v.safeParse(configPlatformSchema, JSON.parse((await readVerified(store, descriptor)).toString('utf8')));
  if (!config.success || config.output.os === undefined || config.output.architecture === undefined) return undefined;
  return platformString({ os: config.output.os, architecture: config.output.architecture, variant: config.output.variant });
}

/** Read a small blob whole and check it against its descriptor. */
export async function readVerified(store: BlobStore, descriptor: Descriptor): Promise<Buffer> {
  if (descriptor.size > SMALL_LIMIT) throw new UsageError(`${store.description}: ${descriptor.mediaType} ${descriptor.digest} is ${descriptor.size} bytes, too big for a manifest or config`);
  const stored = await store.blob(descriptor.digest);
  if (stored === undefined) throw new UsageError(`${store.description} is missing blob ${descriptor.digest}`, { hint: 'the layout is incomplete; export the image again' });
  const chunks: Buffer[] = [];
  for await (const chunk of stored.open(0)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const bytes = Buffer.concat(chunks);
  const digest = sha256(bytes);
  if (digest !== descriptor.digest || bytes.length !== descriptor.size) {
    throw new UsageError(`${store.description}: blob ${descriptor.digest} is damaged (its bytes hash to ${digest})`, { hint: 'export the image again' });
  }
  return bytes;
}

export function parseJson<T>(schema: v.GenericSchema<unknown, T>, bytes: Buffer, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = v.safeParse(schema, value);
  if (!result.success) throw new UsageError(`${what}: ${firstIssue(result.issues)}`);
  return result.output;
}

export function platformString(p: { os: string; architecture: string; variant?: string | undefined }): string {
  return p.variant === undefined ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`;
}

export { SMALL_LIMIT };
