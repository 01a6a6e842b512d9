import * as v from 'valibot';
import { UsageError } from '../errors.ts';
import { formatReference, parseReference } from '../registry/reference.ts';
import { parseJson, platformString } from './documents.ts';
import { type ReadOptions, readLayout } from './layout.ts';
import { DEFAULT_SOURCE_LIMITS } from './limits.ts';
import { digestSchema } from './schemas.ts';
import type { ArchiveStore } from './stores.ts';
import { sha256 } from '../util/sha256.ts';
import type { BlobSource, ManifestNode } from './types.ts';

const manifestJson = v.array(
  v.object({ Config: v.string(), RepoTags: v.nullish(v.array(v.string())), Layers: v.array(v.string()) }),
);
const configJson = v.looseObject({
  os: v.optional(v.string()),
  architecture: v.optional(v.string()),
  variant: v.optional(v.string()),
  rootfs: v.object({ diff_ids: v.array(digestSchema) }),
});

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/**
 * `docker save` / `podman save`: manifest.json names the config and the layer tars. Legacy layers
 * are uncompressed, so each one's digest is its diff_id from the config: nothing is hashed up front.
 * The image is pushed with an OCI manifest over those layers, as skopeo does. Archives that also
 * carry an OCI index.json (Docker 25+) are read as the OCI layout they are.
 */
export async function readDockerArchive(
  store: ArchiveStore,
  ref: string | undefined,
  options: ReadOptions,
): Promise<ManifestNode> {
  const limits = options.limits ?? DEFAULT_SOURCE_LIMITS;
  const list = await store.readFile('manifest.json', limits.documentBytes);
  if (list === undefined)
    throw new UsageError(`${store.description} has no manifest.json: not a docker-archive`, {
      hint: 'create it with docker save or podman save',
    });
  const images = parseJson(manifestJson, list, `${store.description}/manifest.json`);
  const tags = images.flatMap((i) => i.RepoTags ?? []);
  const chosen =
    ref === undefined ? images : images.filter((i) => (i.RepoTags ?? []).some((t) => sameImageName(t, ref)));
  if (chosen.length !== 1 || chosen[0] === undefined) {
    const what = ref === undefined ? `holds ${images.length} images` : `has no image tagged "${ref}"`;
    throw new UsageError(`${store.description} ${what} (tags: ${tags.join(', ') || 'none'})`, {
      hint: `name one: docker-archive:PATH:${tags[0] ?? 'REPO:TAG'}`,
    });
  }
  const image = chosen[0];
  if (store.entry('index.json') !== undefined && ref === undefined && images.length === 1)
    return readLayout(store, undefined, options);

  const configEntry = store.entry(image.Config);
  const configBytes = await store.readFile(image.Config, limits.documentBytes);
  if (configEntry === undefined || configBytes === undefined) throw missing(store, image.Config);
  const config = parseJson(configJson, configBytes, `${store.description}/${image.Config}`);
  if (config.rootfs.diff_ids.length !== image.Layers.length) {
    throw new UsageError(
      `${store.description}: ${image.Layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in the config`,
      { hint: 'export the image again' },
    );
  }
  const layers: BlobSource[] = [];
  for (const [i, path] of image.Layers.entries()) {
    options.signal.throwIfAborted();
    const entry = store.entry(path);
    const digest = config.rootfs.diff_ids[i];
    if (entry === undefined || digest === undefined) throw missing(store, path);
    if (await isCompressed(entry.open(0))) {
      throw new UsageError(`${store.description}: layer ${path} is compressed`, {
        hint: 'save the image with podman save --format oci-archive and push oci-archive:PATH',
      });
    }
    layers.push({ digest, size: entry.size, mediaType: OCI_LAYER, open: (offset) => entry.open(offset) });
  }
  const configBlob: BlobSource = {
    digest: sha256(configBytes),
    size: configBytes.length,
    mediaType: OCI_CONFIG,
    open: (offset) => configEntry.open(offset),
  };
  const descriptor = (b: BlobSource): object => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(configBlob),
      layers: layers.map(descriptor),
    }),
  );
  const platform =
    config.os !== undefined && config.architecture !== undefined
      ? platformString({ os: config.os, architecture: config.architecture, variant: config.variant })
      : undefined;
  return {
    mediaType: OCI_MANIFEST,
    bytes,
    digest: sha256(bytes),
    blobs: [configBlob, ...layers],
    children: [],
    ...(platform === undefined ? {} : { platform }),
  };
}

async function isCompressed(stream: NodeJS.ReadableStream & { destroy(): void }): Promise<boolean> {
  for await (const chunk of stream) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    stream.destroy();
    return (
      (bytes[0] === 0x1f && bytes[1] === 0x8b) ||
      (bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd)
    );
  }
  return false;
}

/** `team/app:v1` and `docker.io/team/app:v1` name the same image, as they would for docker. */
function sameImageName(a: string, b: string): boolean {
  const canonical = (name: string): string => {
    try {
      const ref = parseReference(name);
      return formatReference({ ...ref, tag: ref.tag ?? 'latest' });
    } catch (error) {
      if (error instanceof UsageError) return name;
      throw error;
    }
  };
  return canonical(a) === canonical(b);
}

function missing(store: ArchiveStore, path: string): UsageError {
  return new UsageError(`${store.description} is missing ${path}`, {
    hint: 'the archive is incomplete; export the image again',
  });
}
