import type { Logger } from '../context/types.ts';
import { UsageError } from '../errors.ts';
import { openSource } from '../image/open-source.ts';
import { createTransport } from '../registry/client.ts';
import { isEcrHost } from '../aws/ecr-uri.ts';
import { type BlobReport, type PushEvent, pushImage } from '../registry/push.ts';
import { formatReference, parseReference } from '../registry/reference.ts';
import { type UploadMode, checkChunkSize } from '../registry/limits.ts';
import { packageVersion } from '../version.ts';

export interface PushCommandInput {
  readonly source: string;
  readonly destination: string;
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

export interface PushCommandResult {
  readonly source: string;
  readonly destination: string;
  /** `registry/repository@sha256:…`: what a pipeline should deploy. */
  readonly reference: string;
  readonly digest: string;
  readonly blobs: readonly BlobReport[];
  readonly bytes: {
    readonly uploaded: number;
    readonly skipped: number;
    readonly mounted: number;
    readonly sent: number;
  };
  readonly durationMs: number;
}

/** `preflight push SOURCE DEST`: stream an image from an archive or layout into a registry. */
export async function push(input: PushCommandInput): Promise<PushCommandResult> {
  const dest = parseReference(input.destination);
  const ecr = isEcrHost(dest.registry);
  const mode: UploadMode = input.uploadMode === 'auto' ? (ecr ? 'chunked' : 'stream') : input.uploadMode;
  checkChunkSize(input.chunkSize, ecr);
  const image = await openSource(input.source, { signal: input.signal });
  const transport = await createTransport(dest.registry, {
    env: input.env,
    insecureRegistries: input.insecureRegistries,
    caFile: input.caFile,
    log: input.log,
    userAgent: `preflight/${packageVersion()}`,
  });
  try {
    const result = await pushImage(image, {
      transport,
      repository: dest.repository,
      tag: dest.tag ?? (dest.digest === undefined ? 'latest' : undefined),
      mode,
      chunkSize: input.chunkSize,
      concurrency: input.concurrency,
      signal: input.signal,
      log: input.log,
      ...(input.onEvent === undefined ? {} : { onEvent: input.onEvent }),
    });
    if (dest.digest !== undefined && dest.digest !== result.digest) {
      throw new UsageError(`the source image is ${result.digest}, not ${dest.digest} as the destination says`, {
        hint: 'drop the @digest from the destination, or push the image it names',
      });
    }
    const sum = (outcome: BlobReport['outcome']): number =>
      result.blobs.filter((b) => b.outcome === outcome).reduce((n, b) => n + b.size, 0);
    return {
      source: image.description,
      destination: formatReference(dest),
      reference: formatReference({ registry: dest.registry, repository: dest.repository, digest: result.digest }),
      digest: result.digest,
      blobs: result.blobs,
      bytes: {
        uploaded: sum('uploaded'),
        skipped: sum('skipped'),
        mounted: sum('mounted'),
        sent: result.blobs.reduce((n, b) => n + b.sentBytes, 0),
      },
      durationMs: result.durationMs,
    };
  } finally {
    await Promise.all([transport.close(), image.close()]);
  }
}
