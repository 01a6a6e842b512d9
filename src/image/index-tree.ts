import * as v from 'valibot';
import { UsageError } from '../errors.ts';
import { untrustedJson } from '../util/json.ts';
import { runPool } from '../util/pool.ts';
import { checkJson, platformString, readVerified } from './documents.ts';
import type { BlobStore } from './layout.ts';
import {
  MAX_CONCURRENT_READS,
  MAX_INDEX_DEPTH,
  MAX_MANIFESTS,
  MAX_MANIFEST_BYTES,
  type SourceLimits,
} from './limits.ts';
import { type Descriptor, configPlatformSchema, indexSchema, manifestSchema } from './schemas.ts';
import type { BlobSource, ManifestNode } from './types.ts';

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const HINT = 'export the image again; an image index lists each platform manifest once';

/** A document of the tree as read: an image manifest is complete, an index still names its children. */
type Read =
  | { readonly kind: 'manifest'; readonly node: ManifestNode }
  | {
      readonly kind: 'index';
      readonly mediaType: string;
      readonly bytes: Buffer;
      readonly digest: string;
      readonly children: readonly Descriptor[];
    };

interface TreeOptions {
  readonly signal: AbortSignal;
  readonly limits: SourceLimits;
}

/**
 * The manifest or index `root` and everything below it; manifests and configs are small and read
 * (and verified) now. An index tree is a DAG: each digest is read once and becomes one node, shared
 * by every index that lists it (an index listing another forty times costs one read, not forty).
 * Reading goes level by level with at most {@link MAX_CONCURRENT_READS} files open, and stops at
 * {@link MAX_MANIFESTS} distinct documents or {@link MAX_INDEX_DEPTH} levels.
 */
export async function readTree(store: BlobStore, root: Descriptor, options: TreeOptions): Promise<ManifestNode> {
  const documents = new Map<string, Read>();
  const platforms = new Map<string, Promise<string | undefined>>();
  let level: readonly Descriptor[] = [root];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > MAX_INDEX_DEPTH) throw tooDeep(store);
    if (documents.size + level.length > MAX_MANIFESTS) throw tooMany(store);
    const read = await runPool(
      level,
      MAX_CONCURRENT_READS,
      (descriptor) => readDocument(store, descriptor, platforms, options.limits),
      options.signal,
    );
    options.signal.throwIfAborted();
    // Each child once, with the first descriptor that names it (its platform, in index order).
    const next = new Map<string, Descriptor>();
    for (const document of read) {
      if (document === undefined) continue;
      documents.set(document.kind === 'manifest' ? document.node.digest : document.digest, document);
      if (document.kind === 'index')
        for (const child of document.children)
          if (!documents.has(child.digest) && !next.has(child.digest)) next.set(child.digest, child);
    }
    level = [...next.values()];
  }
  const { node, height } = assemble(root.digest, documents, new Map());
  // Levels count the shortest path to a node; a longer one through a shared index is as deep.
  if (height > MAX_INDEX_DEPTH) throw tooDeep(store);
  return node;
}

/** Nodes bottom-up, one per digest; `height` is the longest path down from the node, itself included. */
function assemble(
  digest: string,
  documents: ReadonlyMap<string, Read>,
  built: Map<string, { node: ManifestNode; height: number }>,
): { node: ManifestNode; height: number } {
  const done = built.get(digest);
  if (done !== undefined) return done;
  const document = documents.get(digest);
  // Every digest named below the root was read above; a gap is a bug here, not bad input.
  if (document === undefined) throw new Error(`index tree: ${digest} was not read`);
  let result: { node: ManifestNode; height: number };
  if (document.kind === 'manifest') {
    result = { node: document.node, height: 1 };
  } else {
    const children = document.children.map((child) => assemble(child.digest, documents, built));
    const node: ManifestNode = {
      mediaType: document.mediaType,
      bytes: document.bytes,
      digest,
      blobs: [],
      children: children.map((c) => c.node),
    };
    result = { node, height: 1 + Math.max(0, ...children.map((c) => c.height)) };
  }
  built.set(digest, result);
  return result;
}

async function readDocument(
  store: BlobStore,
  descriptor: Descriptor,
  platforms: Map<string, Promise<string | undefined>>,
  limits: SourceLimits,
): Promise<Read> {
  const bytes = await readVerified(store, descriptor, MAX_MANIFEST_BYTES);
  const what = `${store.description}: manifest ${descriptor.digest}`;
  const parsed = untrustedJson(
    bytes,
    (problem) => new UsageError(`${what} is ${problem}`, { hint: 'export the image again' }),
  );
  const declared =
    typeof parsed === 'object' && parsed !== null && 'mediaType' in parsed && typeof parsed.mediaType === 'string'
      ? parsed.mediaType
      : undefined;
  const mediaType = declared ?? descriptor.mediaType;
  if (INDEX_TYPES.has(mediaType)) {
    const index = checkJson(indexSchema, parsed, what);
    return { kind: 'index', mediaType, bytes, digest: descriptor.digest, children: index.manifests };
  }
  const manifest = checkJson(manifestSchema, parsed, what);
  const blobs: BlobSource[] = [];
  for (const layer of [manifest.config, ...manifest.layers]) {
    const blob = await storedBlob(store, layer);
    if (blob !== undefined) blobs.push(blob);
  }
  const { config } = manifest;
  // Manifests of one image often share a config: read it once.
  const fromConfig = (): Promise<string | undefined> => {
    let platform = platforms.get(config.digest);
    if (platform === undefined) {
      platform = configPlatform(store, config, limits);
      platforms.set(config.digest, platform);
    }
    return platform;
  };
  const platform = descriptor.platform === undefined ? await fromConfig() : platformString(descriptor.platform);
  return {
    kind: 'manifest',
    node: {
      mediaType,
      bytes,
      digest: descriptor.digest,
      blobs,
      children: [],
      ...(platform === undefined ? {} : { platform }),
    },
  };
}

async function storedBlob(store: BlobStore, descriptor: Descriptor): Promise<BlobSource | undefined> {
  const stored = await store.blob(descriptor.digest);
  if (stored === undefined) {
    // Foreign layers (Windows bases) are not in layouts and not pushed: registries fetch them elsewhere.
    if (/nondistributable|foreign/.test(descriptor.mediaType)) return undefined;
    throw new UsageError(`${store.description} is missing blob ${descriptor.digest}`, {
      hint: 'the layout is incomplete; export the image again',
    });
  }
  if (stored.size !== descriptor.size) {
    throw new UsageError(
      `${store.description}: blob ${descriptor.digest} is ${stored.size} bytes, the manifest says ${descriptor.size} (truncated or damaged)`,
      { hint: 'export the image again' },
    );
  }
  return {
    digest: descriptor.digest,
    size: descriptor.size,
    mediaType: descriptor.mediaType,
    open: (offset) => stored.open(offset),
  };
}

async function configPlatform(
  store: BlobStore,
  descriptor: Descriptor,
  limits: SourceLimits,
): Promise<string | undefined> {
  const bytes = await readVerified(store, descriptor, limits.documentBytes);
  const parsed = untrustedJson(
    bytes,
    (problem) =>
      new UsageError(`${store.description}: config ${descriptor.digest} is ${problem}`, {
        hint: 'export the image again',
      }),
  );
  // A config without a usable platform leaves the platform unknown, which the checks report.
  const config = v.safeParse(configPlatformSchema, parsed);
  if (!config.success || config.output.os === undefined || config.output.architecture === undefined) return undefined;
  return platformString({
    os: config.output.os,
    architecture: config.output.architecture,
    variant: config.output.variant,
  });
}

function tooDeep(store: BlobStore): UsageError {
  return new UsageError(`${store.description}: indexes nested more than ${MAX_INDEX_DEPTH} deep`, { hint: HINT });
}

function tooMany(store: BlobStore): UsageError {
  return new UsageError(`${store.description}: the image lists more than ${MAX_MANIFESTS} manifests and indexes`, {
    hint: HINT,
  });
}
