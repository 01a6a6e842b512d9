import { performance } from 'node:perf_hooks';
import type { Logger } from '../context/types.ts';
import type { BlobSource, ManifestNode, SourceImage } from '../image/types.ts';
import { runPool } from '../util/pool.ts';
import type { RetryPolicy } from './backoff.ts';
import { putManifest } from './manifest.ts';
import type { RegistryTransport } from './transport.ts';
import { uploadBlob } from './upload.ts';
import { type UploadMode, checkLayerSize } from './limits.ts';
import { isEcrHost } from '../aws/ecr-uri.ts';

export type BlobOutcome = 'uploaded' | 'skipped' | 'mounted';

export type PushEvent =
  | { readonly type: 'plan'; readonly blobs: readonly { readonly digest: string; readonly size: number }[] }
  | { readonly type: 'blob-start'; readonly digest: string; readonly size: number }
  | { readonly type: 'blob-progress'; readonly digest: string; readonly bytes: number; readonly size: number }
  | { readonly type: 'blob-done'; readonly digest: string; readonly size: number; readonly outcome: BlobOutcome }
  | { readonly type: 'manifest'; readonly digest: string; readonly reference: string };

export interface BlobPushOptions {
  readonly transport: RegistryTransport;
  readonly repository: string;
  readonly mode: UploadMode;
  readonly chunkSize: number;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  /** Other repositories on the same registry that may hold the blob (cross-repository mount). */
  readonly mountFrom?: readonly string[];
  readonly onEvent?: (event: PushEvent) => void;
  /** How a failed part is retried; the default suits real registries. */
  readonly retry?: RetryPolicy;
}

export interface PushOptions extends BlobPushOptions {
  /** Tag for the root manifest; without one it is pushed by digest only. */
  readonly tag: string | undefined;
  /** Blobs uploaded at once (each holds at most one part in flight). */
  readonly concurrency: number;
}

export interface BlobReport {
  readonly digest: string;
  readonly size: number;
  readonly outcome: BlobOutcome;
  readonly sentBytes: number;
  readonly resumes: number;
  readonly restarts: number;
}

export interface PushResult {
  /** Digest of the root manifest (index or image manifest). */
  readonly digest: string;
  readonly blobs: readonly BlobReport[];
  readonly manifests: readonly string[];
  readonly durationMs: number;
}

/**
 * Push an image: every blob first (skipped when present, mounted when another repository has it,
 * otherwise streamed), then the manifests bottom-up. A failed blob cancels the others and no
 * manifest is written, so a registry never holds an image that references a missing blob.
 */
export async function pushImage(image: SourceImage, options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const blobs = uniqueBlobs(image.root);
  // A blob the registry cannot store is refused before any byte of any blob is sent.
  const ecr = isEcrHost(options.transport.registry);
  for (const blob of blobs) checkLayerSize(blob.size, `blob ${blob.digest}`, ecr);
  options.onEvent?.({ type: 'plan', blobs: blobs.map((b) => ({ digest: b.digest, size: b.size })) });
  const failure = new AbortController();
  const signal = options.signal === undefined ? failure.signal : AbortSignal.any([options.signal, failure.signal]);
  const reports = await runPool(blobs, options.concurrency, async (blob) => {
    try {
      return await pushBlob(blob, { ...options, signal });
    } catch (error) {
      failure.abort(error);
      throw error;
    }
  });
  const blobReports = reports.filter((r) => r !== undefined);
  const manifests: string[] = [];
  // An index tree is a DAG (an index may list another forty times): each digest is PUT once, and
  // only after everything it references, since a registry refuses an index naming an unknown manifest.
  const put = new Map<string, Promise<string>>();
  const putNode = async (node: ManifestNode, reference: string): Promise<string> => {
    for (const child of node.children) {
      const done = put.get(child.digest) ?? putNode(child, child.digest);
      put.set(child.digest, done);
      await done;
    }
    const digest = await putManifest(options.transport, options.repository, reference, node, options.signal);
    manifests.push(digest);
    options.onEvent?.({ type: 'manifest', digest, reference });
    return digest;
  };
  const digest = await putNode(image.root, options.tag ?? image.root.digest);
  return { digest, blobs: blobReports, manifests, durationMs: Math.round(performance.now() - started) };
}

/** One blob: HEAD, then mount, then upload. */
export async function pushBlob(blob: BlobSource & { digest: string }, options: BlobPushOptions): Promise<BlobReport> {
  const { transport, repository } = options;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  options.onEvent?.({ type: 'blob-start', digest: blob.digest, size: blob.size });
  const done = (outcome: BlobOutcome, extra: Partial<BlobReport> = {}): BlobReport => {
    options.onEvent?.({ type: 'blob-done', digest: blob.digest, size: blob.size, outcome });
    return { digest: blob.digest, size: blob.size, outcome, sentBytes: 0, resumes: 0, restarts: 0, ...extra };
  };
  const head = await transport.request({
    method: 'HEAD',
    path: `/v2/${repository}/blobs/${blob.digest}`,
    scope: `repository:${repository}:pull,push`,
    ...signal,
  });
  await head.dump();
  if (head.status === 200) return done('skipped');
  if (head.status !== 404)
    throw transport.statusError({ method: 'HEAD', path: `/v2/${repository}/blobs/${blob.digest}` }, head.status, '');

  let location: string | undefined;
  for (const from of options.mountFrom ?? []) {
    if (from === repository) continue;
    const path = `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`;
    const res = await transport.request({
      method: 'POST',
      path,
      scope: `repository:${repository}:pull,push repository:${from}:pull`,
      retry: true,
      ...signal,
    });
    await res.dump();
    if (res.status === 201) return done('mounted');
    // 202: the registry could not mount but opened an upload session; use it rather than leak it.
    const header = res.header('location');
    if (res.status === 202 && header !== undefined) {
      location = new URL(header, res.url).href;
      break;
    }
  }
  const result = await uploadBlob({
    transport,
    repository,
    source: blob,
    mode: options.mode,
    chunkSize: options.chunkSize,
    ...signal,
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(location === undefined ? {} : { location }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    onProgress: (bytes) => options.onEvent?.({ type: 'blob-progress', digest: blob.digest, bytes, size: blob.size }),
  });
  return done('uploaded', { sentBytes: result.sentBytes, resumes: result.resumes, restarts: result.restarts });
}

/** Every blob of the tree once, with a digest (manifests from archives always carry them). */
function uniqueBlobs(root: ManifestNode): (BlobSource & { digest: string })[] {
  const byDigest = new Map<string, BlobSource & { digest: string }>();
  const visited = new Set<string>();
  const visit = (node: ManifestNode): void => {
    // A node shared by several indexes is visited once, not once per path to it.
    if (visited.has(node.digest)) return;
    visited.add(node.digest);
    for (const blob of node.blobs) {
      const { digest } = blob;
      if (digest === undefined)
        throw new Error(`a blob of ${node.digest} has no digest: it must be computed before the push`);
      if (!byDigest.has(digest)) byDigest.set(digest, { ...blob, digest, open: (offset) => blob.open(offset) });
    }
    node.children.forEach(visit);
  };
  visit(root);
  return [...byDigest.values()];
}
