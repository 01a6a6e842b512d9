import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Logger } from '../context/types.ts';
import type { BlobSource, ManifestNode } from '../image/types.ts';
import { type DigestCache } from '../image/digest-cache.ts';
import { isEcrHost } from '../aws/ecr-uri.ts';
import { UsageError } from '../errors.ts';
import { type BaseImage, BaseImageError, resolveBaseImage } from '../registry/base-image.ts';
import { mergeLayers } from '../registry/image-files.ts';
import { layerEntries } from '../image/tar-walk.ts';
import { type UploadMode, checkLayerSize } from '../registry/limits.ts';
import { type BlobReport, type PushEvent, pushImage } from '../registry/push.ts';
import { type ImageReference, formatReference } from '../registry/reference.ts';
import type { RegistryTransport } from '../registry/transport.ts';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_TAR, OCI_MANIFEST, modelcarImage, modelcarIndex } from './config.ts';
import { type LayerReport, modelLayerDigests } from './layer-digests.ts';
import { sha256 } from '../util/sha256.ts';
import { ModelcarContractError, modelcarContractProblems, plannedLayerEntries } from './contract.ts';
import { type PlannedLayer, planLayers } from './plan.ts';
import { walkModelDir } from './walk.ts';

export type { LayerReport } from './layer-digests.ts';

export interface BuildInput {
  readonly modelDir: string;
  readonly destination: ImageReference;
  readonly base: ImageReference;
  readonly baseName: string;
  readonly platforms: readonly string[];
  readonly modelsPath: string;
  readonly layerThreshold: number;
  /** Layers the image may have, the base's included (ECR: 500); no limit when undefined. */
  readonly maxLayers: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Seconds since the epoch for every mtime and `created` (SOURCE_DATE_EPOCH or 0). */
  readonly epoch: number;
  readonly transport: RegistryTransport;
  /** The base's registry; the same object as `transport` when both live on one registry. */
  readonly baseTransport: RegistryTransport;
  readonly cache: DigestCache;
  readonly mode: UploadMode;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly onEvent?: (event: PushEvent) => void;
}

export interface BuildResult {
  readonly digest: string;
  readonly layers: readonly LayerReport[];
  readonly bases: readonly { readonly platform: string; readonly reference: string }[];
  readonly blobs: readonly BlobReport[];
  /**
   * The model directory: files, bytes, and bytes read from it: once each on a first push, none on an
   * unchanged re-push, once each for a rehashed layer (and again for one the registry then lacks).
   */
  readonly model: { readonly files: number; readonly bytes: number; readonly bytesRead: number };
  readonly durationMs: number;
  /** The modelcar contract of the pushed image (first platform), checked before any upload (empty: met). */
  readonly contract: { readonly platform: string; readonly problems: readonly string[] };
}

/**
 * Build and push a modelcar without a container engine or temp disk: resolve the base for each
 * platform first (a missing platform fails before any upload), plan the layers within the layer
 * limit, refuse a layer ECR cannot store or an image that breaks the modelcar contract, upload each
 * model layer while hashing it (its digest is not known before: each byte is read once), then push
 * configs, base blobs (mounted or streamed registry to registry) and the manifests. Layers whose
 * digest the cache knows are only HEADed; they upload (verified) when the registry lacks them. A
 * layer whose files only changed ctime (a chown or chmod) is hashed locally first and then treated
 * the same way, so a pod's fsGroup costs a read of the model, not its upload.
 */
export async function buildModelcar(input: BuildInput): Promise<BuildResult> {
  const started = performance.now();
  // The base's round trips overlap the walk of the model directory; both finish before any upload.
  const resolving = Promise.all(
    input.platforms.map((platform) =>
      resolveBaseImage(
        input.baseTransport,
        input.base.repository,
        input.base.digest ?? input.base.tag ?? 'latest',
        platform,
        { signal: input.signal, cache: input.cache },
      ),
    ),
  );
  // A walk error is the one reported; the base's outcome must not become an unhandled rejection.
  resolving.catch(() => undefined);
  const entries = await walkModelDir(input.modelDir, input.signal);
  const stats = { bytesRead: 0 };
  const bases: BaseImage[] = await resolving;
  const maxLayers = modelLayerRoom(input.maxLayers, bases);
  const planned = planLayers(entries, {
    modelsPath: input.modelsPath,
    layerThreshold: input.layerThreshold,
    maxLayers,
    epoch: input.epoch,
    stats,
  });
  const ecr = isEcrHost(input.destination.registry);
  for (const layer of planned) checkLayerSize(layer.tar.size, layer.description, ecr);
  const contract = await checkContract(bases[0], planned, input);
  const layers = await modelLayerDigests(planned, input);
  const created = new Date(input.epoch * 1000).toISOString().replace('.000Z', 'Z');
  const modelBlobs: BlobSource[] = layers.map((l, i) => ({
    digest: l.digest,
    size: l.size,
    mediaType: OCI_LAYER_TAR,
    open: (offset) => planned[i]?.tar.open(offset) ?? Readable.from([]),
  }));
  const children: ManifestNode[] = bases.map((base) => {
    const bytes = modelcarImage(base, layers, { created, labels: input.labels, baseName: input.baseName });
    const config: BlobSource = {
      digest: sha256(bytes.config),
      size: bytes.config.length,
      mediaType: OCI_CONFIG,
      open: (offset) => Readable.from([bytes.config.subarray(offset)]),
    };
    return {
      mediaType: OCI_MANIFEST,
      bytes: bytes.manifest,
      digest: sha256(bytes.manifest),
      blobs: [config, ...base.blobs, ...modelBlobs],
      children: [],
      platform: base.platform,
    };
  });
  const root = rootNode(children);
  const sameRegistry = input.baseTransport === input.transport;
  const pushed = await pushImage(
    { root, description: `modelcar of ${input.modelDir}`, close: () => Promise.resolve() },
    {
      transport: input.transport,
      repository: input.destination.repository,
      tag: input.destination.tag ?? 'latest',
      mode: input.mode,
      chunkSize: input.chunkSize,
      concurrency: input.concurrency,
      signal: input.signal,
      log: input.log,
      ...(sameRegistry ? { mountFrom: [input.base.repository] } : {}),
      ...(input.onEvent === undefined ? {} : { onEvent: input.onEvent }),
    },
  );
  const modelBytes = entries.reduce((n, e) => n + (e.kind === 'file' ? e.size : 0), 0);
  return {
    digest: pushed.digest,
    layers,
    bases: bases.map((b) => ({ platform: b.platform, reference: b.reference })),
    blobs: pushed.blobs,
    model: { files: entries.filter((e) => e.kind === 'file').length, bytes: modelBytes, bytesRead: stats.bytesRead },
    durationMs: Math.round(performance.now() - started),
    contract,
  };
}

/** The layers left for the model under `maxLayers`: the most any platform's base leaves. */
function modelLayerRoom(maxLayers: number | undefined, bases: readonly BaseImage[]): number | undefined {
  if (maxLayers === undefined) return undefined;
  const baseLayers = bases.reduce((n, b) => Math.max(n, b.layers.length), 0);
  if (maxLayers - baseLayers >= 1) return maxLayers - baseLayers;
  throw new UsageError(`--max-layers ${maxLayers} leaves no layer for the model: the base has ${baseLayers}`, {
    hint: `allow at least ${baseLayers + 1} (the base's layers and one for the model; ECR allows 500)`,
  });
}

/**
 * The modelcar contract of the image about to be pushed, from what is known before any upload: the
 * base's tar headers and config, and the planned model layers. A violation is refused here, with
 * nothing sent (reading the pushed image back would cost requests and pull permissions, and come
 * after the push). The contract depends on the base and the model's paths and modes, not on file
 * contents: once met, the digest cache skips reading the base again.
 */
async function checkContract(
  base: BaseImage | undefined,
  planned: readonly PlannedLayer[],
  input: BuildInput,
): Promise<BuildResult['contract']> {
  const platform = base?.platform ?? input.platforms[0] ?? 'linux/amd64';
  if (base === undefined) return { platform, problems: [] };
  const image = formatReference({ ...input.destination, tag: input.destination.tag ?? 'latest' });
  const model = planned.map((l) => plannedLayerEntries(l.entries));
  const tree = sha256(Buffer.from(JSON.stringify(model.map((layer) => layer.map((e) => [e.path, e.type, e.mode])))));
  const key = `modelcar-contract-ok:v2:${base.manifest.digest}:${tree}`;
  if (await input.cache.verified(key)) {
    input.log.debug(`${image}: met the modelcar contract before (digest cache)`);
    return { platform, problems: [] };
  }
  const baseLayers = [];
  for (const blob of base.blobs.slice(1)) baseLayers.push(await layerEntries(blob, input.signal));
  const baseFiles = mergeLayers(baseLayers);
  // The base's own faults first: their fix is another base.
  if (!baseFiles.some((f) => f.path === 'bin/sh' || f.path === 'usr/bin/sh')) {
    throw new BaseImageError(`base image ${input.baseName} has no sh: KServe's modelcar sidecar runs a shell`, {
      hint: 'use a base with sh, ln and sleep, such as busybox',
    });
  }
  const config: unknown = base.configJson.config;
  const entrypoint: unknown =
    typeof config === 'object' && config !== null ? Reflect.get(config, 'Entrypoint') : undefined;
  if (Array.isArray(entrypoint) && entrypoint.length > 0) {
    throw new BaseImageError(
      `base image ${input.baseName} has ENTRYPOINT ${JSON.stringify(entrypoint)}: KServe passes its own command, which an ENTRYPOINT would swallow`,
      { hint: 'use a base without an ENTRYPOINT, such as busybox' },
    );
  }
  // modelcarImage keeps the base's Entrypoint: none, as checked above.
  const problems = modelcarContractProblems({ image, files: mergeLayers([...baseLayers, ...model]), entrypoint: [] });
  if (problems.length > 0) {
    throw new ModelcarContractError(`the modelcar would not work in KServe: ${problems.join('; ')}`, {
      hint: 'nothing was pushed; KServe mounts the model from /models (--models-path /models)',
    });
  }
  await input.cache.markVerified(key);
  return { platform, problems };
}

function rootNode(children: readonly ManifestNode[]): ManifestNode {
  const [only] = children;
  if (children.length === 1 && only !== undefined) return only;
  const bytes = modelcarIndex(
    children.map((c) => ({ digest: c.digest, size: c.bytes.length, platform: c.platform ?? 'linux/amd64' })),
  );
  return { mediaType: OCI_INDEX, bytes, digest: sha256(bytes), blobs: [], children };
}
