import * as v from 'valibot';
import { BaseImageError } from '../errors.ts';
import { platformMatches } from '../image/platform.ts';
import { configPlatformSchema, firstIssue, indexSchema, jsonObjectSchema, manifestSchema } from '../image/schemas.ts';
import type { DigestCache } from '../image/digest-cache.ts';
import type { BlobSource } from '../image/types.ts';
import { readBlob } from './blob-get.ts';
import { MAX_MANIFEST_BYTES, MEDIA_TYPES, getManifest, registryJson, type FetchedManifest } from './manifest.ts';
import { type Descriptor, remoteBlob } from './remote-blob.ts';
import type { RegistryTransport } from './transport.ts';

/** One platform's image of a base, ready to be built upon: its blobs stream from the registry. */
export interface BaseImage {
  /** `registry/repository@sha256:…` of the platform manifest, for labels and messages. */
  readonly reference: string;
  readonly platform: string;
  readonly manifest: FetchedManifest;
  readonly config: Descriptor;
  /** The parsed image config, to be extended (diff_ids, history, labels). */
  readonly configJson: Record<string, unknown>;
  readonly layers: readonly Descriptor[];
  /** Config and layers as sources reading from the base's repository (GET with Range). */
  readonly blobs: readonly BlobSource[];
}

/** The part of the digest cache that keeps small content-addressed documents. */
export type ContentCache = Pick<DigestCache, 'content' | 'storeContent'>;

export interface ResolveOptions {
  readonly signal?: AbortSignal | undefined;
  /** `base image` or `image`, for messages. */
  readonly role?: string;
  /** Manifests named by digest and configs come from here when present (a re-push reads none). */
  readonly cache?: ContentCache | undefined;
}

// Declared with every other error class in src/errors.ts (one table of codes).
export { BaseImageError };

/**
 * Resolve `reference` to the image manifest for `target` (through its index when it has one) and
 * read its config. Only the manifest(s) and the config are fetched; layers stay in the registry.
 */
export async function resolveBaseImage(
  transport: RegistryTransport,
  repository: string,
  reference: string,
  target: string,
  options: ResolveOptions = {},
): Promise<BaseImage> {
  const { signal, role = 'base image', cache } = options;
  const name = `${transport.registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  const fetchManifest = (ref: string): Promise<FetchedManifest | undefined> =>
    cachedManifest(transport, repository, ref, signal, cache);
  const top = await fetchManifest(reference);
  if (top === undefined)
    throw new BaseImageError(`${role} ${name} does not exist`, { hint: 'check --base, and that the image was pushed' });
  let manifest = top;
  if (top.mediaType === MEDIA_TYPES.ociIndex || top.mediaType === MEDIA_TYPES.dockerList) {
    const index = parse(indexSchema, top.bytes, name);
    const entry = index.manifests.find(
      (m) => m.platform !== undefined && platformMatches(target, platformString(m.platform)),
    );
    if (entry === undefined) {
      const offered = index.manifests.flatMap((m) => (m.platform === undefined ? [] : [platformString(m.platform)]));
      throw new BaseImageError(
        `${role} ${name} has no ${target} image (it offers ${offered.join(', ') || 'no platforms'})`,
        { hint: `choose a base built for ${target}, or drop that platform from --platform` },
      );
    }
    const child = await fetchManifest(entry.digest);
    if (child === undefined)
      throw new BaseImageError(`${role} ${name}: its ${target} manifest ${entry.digest} is missing`, {
        hint: 'the index is broken; push the base again',
      });
    manifest = child;
  }
  const { config, layers } = parse(manifestSchema, manifest.bytes, name);
  const configJson = await readConfig(transport, repository, config, signal, cache);
  const checked = v.safeParse(configPlatformSchema, configJson);
  if (!checked.success)
    throw new BaseImageError(`${name}: unexpected image config (${firstIssue(checked.issues)})`, {
      hint: 'the base image is broken; choose another --base',
    });
  const parsedConfig = checked.output;
  const actual = platformString({
    os: parsedConfig.os ?? '',
    architecture: parsedConfig.architecture ?? '',
    variant: parsedConfig.variant,
  });
  if (!platformMatches(target, actual)) {
    throw new BaseImageError(`${role} ${name} is ${actual}, not ${target}`, {
      hint: `use a base that offers ${target} (a multi-platform index such as busybox), or build for ${actual}`,
    });
  }
  const source = (d: Descriptor): BlobSource => remoteBlob(transport, repository, d, signal);
  return {
    reference: `${transport.registry}/${repository}@${manifest.digest}`,
    platform: actual,
    manifest,
    config,
    configJson,
    layers,
    blobs: [source(config), ...layers.map(source)],
  };
}

/** A manifest named by digest is read from the cache when it holds it; tags always ask the registry. */
async function cachedManifest(
  transport: RegistryTransport,
  repository: string,
  reference: string,
  signal: AbortSignal | undefined,
  cache: ContentCache | undefined,
): Promise<FetchedManifest | undefined> {
  const byDigest = reference.startsWith('sha256:');
  const hit = byDigest ? await cache?.content(reference) : undefined;
  if (hit !== undefined) return { mediaType: hit.mediaType, bytes: hit.bytes, digest: reference };
  const fetched = await getManifest(transport, repository, reference, signal);
  // getManifest checked that the bytes hash to a digest reference; a tag's manifest is cached under
  // its digest too, for the day the base is pinned to it.
  if (fetched !== undefined)
    await cache?.storeContent(fetched.digest, { mediaType: fetched.mediaType, bytes: fetched.bytes });
  return fetched;
}

async function readConfig(
  transport: RegistryTransport,
  repository: string,
  config: Descriptor,
  signal: AbortSignal | undefined,
  cache: ContentCache | undefined,
): Promise<Record<string, unknown>> {
  let bytes = (await cache?.content(config.digest))?.bytes;
  if (bytes === undefined) {
    if (config.size > MAX_MANIFEST_BYTES)
      throw new BaseImageError(`base image config ${config.digest} is ${config.size} bytes: not an image config`, {
        hint: 'the base image is broken; choose another --base',
      });
    bytes = await readBlob(transport, repository, config.digest, MAX_MANIFEST_BYTES, signal);
    await cache?.storeContent(config.digest, { mediaType: config.mediaType, bytes });
  }
  const parsed = v.safeParse(jsonObjectSchema, registryJson(bytes, `base image config ${config.digest}`));
  if (!parsed.success)
    throw new BaseImageError(`base image config ${config.digest} is not a JSON object`, {
      hint: 'the base image is broken; choose another --base',
    });
  return parsed.output;
}

function parse<T>(schema: v.GenericSchema<unknown, T>, bytes: Buffer, name: string): T {
  const result = v.safeParse(schema, registryJson(bytes, name));
  if (!result.success) throw new BaseImageError(`${name}: unexpected manifest (${firstIssue(result.issues)})`);
  return result.output;
}

function platformString(p: { os: string; architecture: string; variant?: string | undefined }): string {
  return p.variant === undefined ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`;
}
