import { createHash } from 'node:crypto';
import { addAbortSignal } from 'node:stream';
import type { CachedDigest } from '../image/digest-cache.ts';
import { uploadBlob } from '../registry/upload.ts';
import { noteStreamedBytes } from '../util/gc-pacer.ts';
import { runPool } from '../util/pool.ts';
import type { BuildInput } from './build.ts';
import { OCI_LAYER_TAR } from './config.ts';
import type { PlannedLayer } from './plan.ts';

export interface LayerReport {
  readonly description: string;
  readonly digest: string;
  readonly size: number;
  readonly files: readonly string[];
  /**
   * How the digest was learnt. `uploaded`: hashed while uploading. `cached`: from the digest cache.
   * `rehashed`: the cache knew the files but only ctime had moved (a chown or chmod), so the layer
   * was hashed locally first, without uploading. A cached or rehashed layer is then HEADed by the
   * push, and uploaded (verified against the digest) only when the registry lacks it.
   */
  readonly outcome: 'uploaded' | 'cached' | 'rehashed';
  /** Bytes sent while learning the digest (0 unless uploaded); what the push sends later is in its blob reports. */
  readonly sentBytes: number;
}

type DigestInput = Pick<
  BuildInput,
  'transport' | 'destination' | 'cache' | 'mode' | 'chunkSize' | 'concurrency' | 'signal' | 'log' | 'onEvent'
>;

/** Each model layer's digest, learnt once per layer: see {@link LayerReport}'s outcome. A failed layer cancels the others. */
export async function modelLayerDigests(planned: readonly PlannedLayer[], input: DigestInput): Promise<LayerReport[]> {
  input.onEvent?.({ type: 'plan', blobs: planned.map((l) => ({ digest: l.description, size: l.tar.size })) });
  const failure = new AbortController();
  const signal = AbortSignal.any([input.signal, failure.signal]);
  const reports = await runPool(planned, input.concurrency, async (layer) => {
    try {
      return await layerDigest(layer, input, signal);
    } catch (error) {
      failure.abort(error);
      throw error;
    }
  });
  return reports.filter((r) => r !== undefined);
}

async function layerDigest(layer: PlannedLayer, input: DigestInput, signal: AbortSignal): Promise<LayerReport> {
  const { cache, log } = input;
  const report = (digest: string, outcome: LayerReport['outcome'], sentBytes = 0): LayerReport => ({
    description: layer.description,
    digest,
    size: layer.tar.size,
    files: layer.files,
    outcome,
    sentBytes,
  });
  // Whatever was just learnt goes under both keys: the next build hits the strong one, and a chown before it the weak one.
  const remember = (digest: string): Promise<unknown> => {
    const value = { digest, size: layer.tar.size };
    return Promise.all([cache.set(layer.cacheKey, value), cache.set(layer.weakKey, value)]);
  };
  const fits = (entry: CachedDigest | undefined): CachedDigest | undefined =>
    entry?.size === layer.tar.size ? entry : undefined;
  const [strong, weak] = (await Promise.all([cache.get(layer.cacheKey), cache.get(layer.weakKey)])).map(fits);
  if (strong !== undefined) {
    log.debug(`${layer.description}: digest ${strong.digest} from the cache`);
    // A cache written before weak keys existed: record it now, so a later chown costs a re-read, not an upload.
    if (weak?.digest !== strong.digest) await cache.set(layer.weakKey, strong);
    return report(strong.digest, 'cached');
  }
  if (weak !== undefined) {
    log.debug(
      `${layer.description}: only ctime changed since digest ${weak.digest} was cached (a chown or chmod, such as kubelet applying a pod's fsGroup, or a rewrite that set mtime back): hashing it locally, to upload only what the registry lacks`,
    );
    const digest = await hashLayer(layer, input, signal);
    await remember(digest);
    log.debug(
      digest === weak.digest
        ? `${layer.description}: unchanged, digest ${digest}`
        : `${layer.description}: its content changed: digest ${digest}, was ${weak.digest}`,
    );
    return report(digest, 'rehashed');
  }
  const id = layer.description;
  input.onEvent?.({ type: 'blob-start', digest: id, size: layer.tar.size });
  const result = await uploadBlob({
    transport: input.transport,
    repository: input.destination.repository,
    source: {
      digest: undefined,
      size: layer.tar.size,
      mediaType: OCI_LAYER_TAR,
      open: (offset) => layer.tar.open(offset),
    },
    mode: input.mode,
    chunkSize: input.chunkSize,
    signal,
    log,
    onProgress: (bytes) => input.onEvent?.({ type: 'blob-progress', digest: id, bytes, size: layer.tar.size }),
  });
  await remember(result.digest);
  input.onEvent?.({ type: 'blob-done', digest: id, size: layer.tar.size, outcome: 'uploaded' });
  return report(result.digest, 'uploaded', result.sentBytes);
}

/**
 * The layer's digest from a local read, through the same `open(0)` an upload reads (1 MiB reads,
 * each file checked to be the one the walk found before its first byte and after its last). The
 * digest is what the push then uses: the bytes it sends must hash to it, or the upload fails.
 */
async function hashLayer(layer: PlannedLayer, input: DigestInput, signal: AbortSignal): Promise<string> {
  const id = layer.description;
  const size = layer.tar.size;
  input.onEvent?.({ type: 'blob-start', digest: id, size });
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of addAbortSignal(signal, layer.tar.open(0))) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    hash.update(buffer);
    bytes += buffer.length;
    noteStreamedBytes(buffer.length);
    input.onEvent?.({ type: 'blob-progress', digest: id, bytes, size });
  }
  // Progress has no outcome for "hashed, not sent": nothing was uploaded in this pass, and the push reports the rest.
  input.onEvent?.({ type: 'blob-done', digest: id, size, outcome: 'skipped' });
  return `sha256:${hash.digest('hex')}`;
}
