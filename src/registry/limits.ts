import { UsageError } from '../errors.ts';

const MiB = 2 ** 20;

/**
 * Amazon ECR's documented limits on a layer upload ("Amazon ECR service quotas": layer part
 * 5-10 MiB except the last, 4,200 parts per layer, 52,000 MiB per layer). The 5 MiB minimum holds for
 * registry-API pushes too (dotnet/sdk-container-builds#279 and #424 found LayerPartTooSmallException
 * in CloudTrail).
 */
export const ECR_PART_MIN = 5 * MiB;
export const ECR_PART_MAX = 10 * MiB;
export const ECR_MAX_PARTS = 4200;
export const ECR_MAX_LAYER_BYTES = 52_000 * MiB;
/** Above this no chunked upload fits in 4,200 parts of 10 MiB: the layer goes up as one streamed PATCH (as `docker push` sends it; ECR's proxy splits it). */
export const ECR_MAX_CHUNKED_BYTES = ECR_MAX_PARTS * ECR_PART_MAX;
/**
 * Layers per image: ECR answers 405 UNSUPPORTED "Limit on number of layers per image exceeded".
 * Undocumented; openai/tart#890, measured at 500 by spinframework/spin#1787 and nuonco/nuon#2348.
 */
export const ECR_MAX_LAYERS_PER_IMAGE = 500;

export type UploadMode = 'chunked' | 'stream';

/** How one blob goes up: one streamed PATCH, or parts of `partSize`. */
export interface UploadPlan {
  readonly mode: UploadMode;
  readonly partSize: number;
}

/** `--chunk-size` outside ECR's part limits is a usage error for every command that pushes to ECR. */
export function checkChunkSize(chunkSize: number, ecr: boolean): void {
  if (ecr && (chunkSize < ECR_PART_MIN || chunkSize > ECR_PART_MAX)) {
    throw new UsageError(`--chunk-size ${chunkSize} is outside ECR's part limits (5 MiB to 10 MiB)`, {
      hint: 'use --chunk-size 8MiB (the default) for ECR',
    });
  }
}

/**
 * The upload of one blob of `size` bytes. Elsewhere the caller's mode and part size stand. On ECR a
 * chunked upload takes the smallest part size within 5-10 MiB (and not below `chunkSize`) that keeps
 * the layer within 4,200 parts; a layer no such size fits goes up as one streamed PATCH.
 */
export function uploadPlan(
  size: number,
  options: { readonly mode: UploadMode; readonly chunkSize: number; readonly ecr: boolean },
): UploadPlan {
  if (!options.ecr || options.mode === 'stream') return { mode: options.mode, partSize: options.chunkSize };
  if (size > ECR_MAX_CHUNKED_BYTES) return { mode: 'stream', partSize: options.chunkSize };
  const needed = Math.ceil(size / ECR_MAX_PARTS);
  return { mode: 'chunked', partSize: Math.min(ECR_PART_MAX, Math.max(options.chunkSize, needed)) };
}

/** A layer ECR cannot store is refused before any byte is sent, naming what is too big and the fix. */
export function checkLayerSize(size: number, what: string, ecr: boolean): void {
  if (!ecr || size <= ECR_MAX_LAYER_BYTES) return;
  throw new UsageError(
    `${what} is ${size.toLocaleString('en-US')} bytes (${formatMiB(size)}): above ECR's limit of 52,000 MiB per layer`,
    {
      hint: 'split the file below the limit (for GGUF: llama-gguf-split --split-max-size 40G), or export the model as several shards',
    },
  );
}

function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`;
}
