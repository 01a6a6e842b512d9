import type { Logger } from '../context/types.ts';
import { UsageError } from '../errors.ts';
import { defaultCacheDir, openDigestCache } from '../image/digest-cache.ts';
import { type BuildResult, buildModelcar } from '../modelcar/build.ts';
import { createTransport } from '../registry/client.ts';
import type { PushEvent } from '../registry/push.ts';
import { formatReference, parseReference } from '../registry/reference.ts';
import { isEcrHost } from '../aws/ecr-uri.ts';
import { ECR_MAX_LAYERS_PER_IMAGE, type UploadMode, checkChunkSize } from '../registry/limits.ts';
import { packageVersion } from '../version.ts';

export { DEFAULT_BASE } from '../modelcar/defaults.ts';

export interface ModelcarBuildInput {
  readonly modelDir: string;
  readonly image: string;
  readonly base: string;
  readonly platforms: readonly string[];
  readonly modelsPath: string;
  readonly layerThreshold: number;
  /** Layers the image may have, the base's included; `auto`: ECR's 500 on ECR, no limit elsewhere. */
  readonly maxLayers: number | 'auto';
  readonly labels: Readonly<Record<string, string>>;
  readonly cacheDir: string | undefined;
  /** `--no-cache`: neither read nor write digests. */
  readonly useCache: boolean;
  readonly uploadMode: UploadMode | 'auto';
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly insecureRegistries: readonly string[];
  readonly caFile: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly onEvent?: (event: PushEvent) => void;
}

export interface ModelcarBuildResult extends BuildResult {
  readonly image: string;
  /** `registry/repository@sha256:…`: what the InferenceService's storageUri should name (oci://…). */
  readonly reference: string;
  readonly bytes: {
    readonly uploaded: number;
    readonly skipped: number;
    readonly mounted: number;
    readonly sent: number;
  };
}

/** `preflight modelcar build`: see {@link buildModelcar}. */
export async function modelcarBuild(input: ModelcarBuildInput): Promise<ModelcarBuildResult> {
  const destination = parseReference(input.image);
  if (destination.digest !== undefined)
    throw new UsageError(`--image ${input.image} names a digest`, {
      hint: 'give a tag (the digest is what the build produces)',
    });
  const base = parseReference(input.base);
  const ecr = isEcrHost(destination.registry);
  checkChunkSize(input.chunkSize, ecr);
  const mode: UploadMode = input.uploadMode === 'auto' ? (ecr ? 'chunked' : 'stream') : input.uploadMode;
  const epoch = sourceDateEpoch(input.env);
  const clientOptions = {
    env: input.env,
    insecureRegistries: input.insecureRegistries,
    caFile: input.caFile,
    log: input.log,
    userAgent: `preflight/${packageVersion()}`,
  };
  const transport = await createTransport(destination.registry, clientOptions);
  const baseTransport =
    base.registry === destination.registry ? transport : await createTransport(base.registry, clientOptions);
  const cache = openDigestCache(input.useCache ? (input.cacheDir ?? defaultCacheDir(input.env)) : undefined, input.log);
  try {
    const result = await buildModelcar({
      modelDir: input.modelDir,
      destination,
      base,
      baseName: formatReference(base),
      platforms: input.platforms,
      modelsPath: input.modelsPath,
      layerThreshold: input.layerThreshold,
      maxLayers: input.maxLayers === 'auto' ? (ecr ? ECR_MAX_LAYERS_PER_IMAGE : undefined) : input.maxLayers,
      labels: input.labels,
      epoch,
      transport,
      baseTransport,
      cache,
      mode,
      chunkSize: input.chunkSize,
      concurrency: input.concurrency,
      signal: input.signal,
      log: input.log,
      ...(input.onEvent === undefined ? {} : { onEvent: input.onEvent }),
    });
    const reference = formatReference({
      registry: destination.registry,
      repository: destination.repository,
      digest: result.digest,
    });
    const uploadedLayers = result.layers.filter((l) => l.outcome === 'uploaded');
    const sum = (outcome: string): number =>
      result.blobs.filter((b) => b.outcome === outcome).reduce((n, b) => n + b.size, 0);
    const uploadedInPush = result.blobs.filter(
      (b) => b.outcome === 'uploaded' && !uploadedLayers.some((l) => l.digest === b.digest),
    );
    return {
      ...result,
      image: formatReference({ ...destination, tag: destination.tag ?? 'latest' }),
      reference,
      bytes: {
        uploaded: uploadedLayers.reduce((n, l) => n + l.size, 0) + uploadedInPush.reduce((n, b) => n + b.size, 0),
        // Layers uploaded in the first pass are HEADed again by the push: not skipped in any useful sense.
        skipped: sum('skipped') - uploadedLayers.reduce((n, l) => n + l.size, 0),
        mounted: sum('mounted'),
        sent: uploadedLayers.reduce((n, l) => n + l.sentBytes, 0) + result.blobs.reduce((n, b) => n + b.sentBytes, 0),
      },
    };
  } finally {
    await Promise.all([transport.close(), baseTransport === transport ? undefined : baseTransport.close()]);
  }
}

function sourceDateEpoch(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw))
    throw new UsageError(`SOURCE_DATE_EPOCH="${raw}" is not a number of seconds`, {
      hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
    });
  return Number(raw);
}
