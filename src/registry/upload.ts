import { finished } from 'node:stream/promises';
import type { Logger } from '../context/types.ts';
import type { BlobSource } from '../image/types.ts';
import { type RetryPolicy, DEFAULT_RETRY, backoffDelay, retryAfterMs, sleep } from './backoff.ts';
import { byteWindow } from './byte-window.ts';
import { RegistryError, SourceCorruptError } from '../errors.ts';
import { HashCheckpoints } from './hash-checkpoints.ts';
import { noteStreamedBytes } from '../util/gc-pacer.ts';
import { type RegistryResponse, type RegistryTransport, isNetworkError } from './transport.ts';
import { isEcrHost } from '../aws/ecr-uri.ts';
import { type UploadMode, uploadPlan } from './limits.ts';

export interface UploadOptions {
  readonly transport: RegistryTransport;
  readonly repository: string;
  readonly source: BlobSource;
  readonly mode: UploadMode;
  /**
   * Part size in chunked mode (raised to the registry's OCI-Chunk-Min-Length). On ECR the mode and
   * part size are fitted to the blob: see {@link uploadPlan}.
   */
  readonly chunkSize: number;
  readonly signal?: AbortSignal;
  /** Called with the blob's bytes that reached the wire or were acknowledged, for progress. */
  readonly onProgress?: (bytes: number) => void;
  readonly log?: Logger;
  readonly retry?: RetryPolicy;
  /** A part that moves no byte for this long is aborted and resumed. */
  readonly stallMs?: number;
  /** An upload already started (a mount request answered 202 with this Location). */
  readonly location?: string;
}

export interface UploadResult {
  readonly digest: string;
  /** Bytes sent over the wire, resends included. */
  readonly sentBytes: number;
  readonly resumes: number;
  readonly restarts: number;
}

export { SourceCorruptError };

/**
 * One blob upload: the only stateful object of the push path. It holds the upload location, the
 * offset the registry acknowledged and the hash state there; after a failure it resumes from the
 * registry's offset (or its own, when the registry's answer is unreliable) and restarts only when
 * the session itself is gone.
 */
export class UploadSession {
  private location = '';
  private acked = 0;
  private sent = 0;
  private resumes = 0;
  private restarts = 0;
  private chunkSize: number;
  private readonly mode: UploadMode;
  private readonly hash = new HashCheckpoints();
  private readonly options: UploadOptions;
  private readonly scope: string;

  constructor(options: UploadOptions) {
    this.options = options;
    // A layer above ECR's limit never gets here: pushImage and the modelcar plan refuse it before any upload.
    const plan = uploadPlan(options.source.size, {
      mode: options.mode,
      chunkSize: options.chunkSize,
      ecr: isEcrHost(options.transport.registry),
    });
    this.mode = plan.mode;
    this.chunkSize = plan.partSize;
    this.scope = `repository:${options.repository}:pull,push`;
  }

  async run(): Promise<UploadResult> {
    const { source } = this.options;
    const policy = this.options.retry ?? DEFAULT_RETRY;
    if (this.options.location === undefined) await this.start();
    else this.location = this.options.location;
    let failures = 0;
    while (this.acked < source.size) {
      try {
        await this.sendPart();
        failures = 0;
      } catch (error) {
        if (this.options.signal?.aborted === true || error instanceof SourceCorruptError) throw error;
        failures += 1;
        if (failures >= policy.attempts || !isRecoverable(error)) throw error;
        const asked =
          error instanceof RegistryError ? retryAfterMs(error.retryAfter, new Date(), policy.maxMs) : undefined;
        const delay = asked ?? backoffDelay(policy, failures);
        this.options.log?.debug(
          `${shortDigest(source)}: part at ${this.acked} failed (${describe(error)}); recovering in ${delay}ms${asked === undefined ? '' : ' (Retry-After)'}`,
        );
        await sleep(delay, this.options.signal);
        await this.recover(error);
      }
    }
    return this.finish();
  }

  private async start(): Promise<void> {
    const res = await this.options.transport.request({
      method: 'POST',
      path: `/v2/${this.options.repository}/blobs/uploads/`,
      scope: this.scope,
      retry: true,
      ...this.signal(),
    });
    await this.expect(res, [202], 'start an upload', 'POST', `/v2/${this.options.repository}/blobs/uploads/`);
    this.location = requireLocation(res);
    const min = Number(res.header('oci-chunk-min-length') ?? '0');
    if (Number.isFinite(min) && min > this.chunkSize) this.chunkSize = min;
    this.acked = 0;
    this.hash.rewind(0);
  }

  private async sendPart(): Promise<void> {
    const { source } = this.options;
    const mode = this.mode;
    const from = this.acked;
    // Stream mode sends the rest in one PATCH; the first one without Content-Range, as docker does.
    const length = mode === 'stream' ? source.size - from : Math.min(this.chunkSize, source.size - from);
    const ranged = mode === 'chunked' || from > 0;
    const stall = new AbortController();
    const watchdog = new Watchdog(this.options.stallMs ?? 120_000, () => {
      stall.abort(new StallError());
    });
    const signal =
      this.options.signal === undefined ? stall.signal : AbortSignal.any([this.options.signal, stall.signal]);
    try {
      const res = await this.options.transport.request({
        method: 'PATCH',
        path: this.location,
        scope: this.scope,
        long: true,
        signal,
        headers: {
          'content-type': 'application/octet-stream',
          ...(ranged ? { 'content-range': `${from}-${from + length - 1}`, 'content-length': String(length) } : {}),
        },
        body: () => {
          // The transport calls this again when it re-sends the part (after an auth round): the
          // hash restarts at the part's first byte, which is always a checkpoint.
          this.hash.rewind(from);
          return byteWindow(source.open(from), length, (chunk) => {
            watchdog.kick();
            this.hash.update(chunk);
            noteStreamedBytes(chunk.length);
            this.sent += chunk.length;
            this.options.onProgress?.(this.hash.offset);
          });
        },
      });
      if (res.status === 416) throw await this.rangeError(res);
      await this.expect(res, [202, 201], 'upload a part', 'PATCH', this.location);
      this.location = requireLocation(res);
      const end = rangeEnd(res.header('range'));
      const registryOffset = end === undefined ? from + length : end + 1;
      // ECR answers every PATCH after the first with the Range of the first part although it stored
      // each part (aws/containers-roadmap#2831): a Range at or before where this part started is an
      // old word, not news that the part was lost, and going back on it earns a 416. Only a Range
      // inside the part (a registry that kept a prefix) moves the offset; a 416 corrects a wrong
      // guess on the next part.
      if (registryOffset > from && registryOffset < from + length) {
        await this.moveTo(registryOffset);
        return;
      }
      this.acked = from + length;
      this.hash.checkpoint();
      this.options.onProgress?.(this.acked);
    } finally {
      watchdog.stop();
    }
  }

  /** After a failed part: find where to continue, or start the blob over when the session is gone. */
  private async recover(error: unknown): Promise<void> {
    let lost = isLostSession(error);
    let reported: number | undefined;
    if (!lost) {
      try {
        reported = error instanceof RangeRejected ? error.expected : await this.queryOffset();
      } catch (queryError) {
        if (!isLostSession(queryError)) throw queryError;
        lost = true;
      }
    }
    if (lost) {
      this.restarts += 1;
      this.options.log?.debug(`${shortDigest(this.options.source)}: upload session lost; restarting the blob`);
      await this.start();
      return;
    }
    this.resumes += 1;
    if (reported !== undefined && reported > this.options.source.size) {
      throw new RegistryError(
        `${this.options.transport.registry} claims ${reported} bytes of ${shortDigest(this.options.source)}, which has ${this.options.source.size}`,
        { status: 416 },
      );
    }
    // ECR can report a stale Range or none at all: never go back before what it acknowledged.
    await this.moveTo(reported === undefined || reported < this.acked ? this.acked : reported);
  }

  private async queryOffset(): Promise<number | undefined> {
    try {
      const res = await this.options.transport.request({
        method: 'GET',
        path: this.location,
        scope: this.scope,
        ...this.signal(),
      });
      await res.dump();
      if (res.status === 404)
        throw new RegistryError('upload session unknown', { status: 404, ociCode: 'BLOB_UPLOAD_UNKNOWN' });
      if (res.status !== 204 && res.status !== 200) return undefined;
      const location = res.header('location');
      if (location !== undefined && location !== '') this.location = new URL(location, res.url).href;
      const end = rangeEnd(res.header('range'));
      // distribution answers `0-0` for an empty session: read it as nothing stored (a lone byte
      // would then be resent, and the digest check at commit catches the rare wrong guess).
      return end === undefined || end === 0 ? 0 : end + 1;
    } catch (error) {
      if (isLostSession(error)) throw error;
      if (!isNetworkError(error)) throw error;
      return undefined;
    }
  }

  /** Continue at `offset`: restore the hash there, re-reading (not re-sending) at most one checkpoint interval. */
  private async moveTo(offset: number): Promise<void> {
    const from = this.hash.rewind(offset);
    if (from < offset) {
      const gap = byteWindow(this.options.source.open(from), offset - from, (chunk) => {
        this.hash.update(chunk);
      });
      // Drain: the bytes only feed the hash.
      gap.resume();
      await finished(gap);
    }
    this.hash.checkpoint();
    this.acked = offset;
  }

  private async finish(): Promise<UploadResult> {
    const { source } = this.options;
    const digest = this.hash.digest();
    if (source.digest !== undefined && source.digest !== digest) {
      await this.cancel();
      throw new SourceCorruptError(`blob ${source.digest} is corrupt in the source: its bytes hash to ${digest}`, {
        status: 0,
        hint: 'the image source is damaged or was modified while it was pushed; rebuild or re-export it',
      });
    }
    const url = new URL(this.location, this.options.transport.origin);
    url.searchParams.set('digest', digest);
    const res = await this.options.transport.request({
      method: 'PUT',
      path: url.href,
      scope: this.scope,
      headers: { 'content-length': '0' },
      retry: true,
      ...this.signal(),
    });
    await this.expect(res, [201], 'complete the upload', 'PUT', url.href);
    const confirmed = res.header('docker-content-digest');
    if (confirmed !== undefined && confirmed !== digest) {
      throw new RegistryError(`${this.options.transport.registry} stored blob ${confirmed}, expected ${digest}`, {
        status: 201,
      });
    }
    return { digest, sentBytes: this.sent, resumes: this.resumes, restarts: this.restarts };
  }

  private async cancel(): Promise<void> {
    const res = await this.options.transport.request({
      method: 'DELETE',
      path: this.location,
      scope: this.scope,
      ...this.signal(),
    });
    await res.dump();
  }

  /** Name the request that failed as it was sent: a refused POST or PUT is not a PATCH. */
  private async expect(
    res: RegistryResponse,
    statuses: readonly number[],
    what: string,
    method: 'POST' | 'PATCH' | 'PUT',
    path: string,
  ): Promise<void> {
    if (statuses.includes(res.status)) {
      await res.dump();
      return;
    }
    const body = await res.text();
    const error = this.options.transport.statusError({ method, path }, res.status, body);
    throw new RegistryError(`cannot ${what} for ${shortDigest(this.options.source)}: ${error.message}`, {
      status: res.status,
      ociCode: error.ociCode,
      hint: error.hint,
      retryAfter: res.header('retry-after'),
    });
  }

  private async rangeError(res: RegistryResponse): Promise<RangeRejected> {
    const body = await res.text();
    // ECR: "First byte of the layer part is 0 instead of 5242880".
    const match = /instead of (\d+)/.exec(body);
    return new RangeRejected(match?.[1] === undefined ? undefined : Number(match[1]), body);
  }

  private signal(): { signal?: AbortSignal } {
    return this.options.signal === undefined ? {} : { signal: this.options.signal };
  }
}

/** Upload one blob; see {@link UploadSession}. */
export function uploadBlob(options: UploadOptions): Promise<UploadResult> {
  return new UploadSession(options).run();
}

class RangeRejected extends Error {
  readonly expected: number | undefined;

  constructor(expected: number | undefined, body: string) {
    super(`registry rejected the part's range (416): ${body.trim().slice(0, 200)}`);
    this.expected = expected;
  }
}

class StallError extends Error {
  constructor() {
    super('no progress on the upload');
    this.name = 'StallError';
  }
}

/** Aborts a part whose bytes stopped moving; kicked by every chunk that goes out. */
class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private readonly ms: number;
  private readonly onStall: () => void;

  constructor(ms: number, onStall: () => void) {
    this.ms = ms;
    this.onStall = onStall;
    this.kick();
  }

  kick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onStall, this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

function isRecoverable(error: unknown): boolean {
  if (error instanceof RangeRejected || error instanceof StallError || isNetworkError(error) || isLostSession(error))
    return true;
  if (error instanceof RegistryError) return error.status >= 500 || error.status === 429;
  if (error instanceof Error && (error.name === 'AbortError' || error.cause instanceof StallError)) return true;
  return error instanceof Error && /source ended|socket|other side closed/i.test(error.message);
}

// A 404 means the session is gone, whatever the code: distribution answers BLOB_UPLOAD_INVALID for a
// Location whose signed offset no longer matches the data it holds (after a PATCH died half-written).
function isLostSession(error: unknown): boolean {
  return (
    error instanceof RegistryError &&
    (error.ociCode === 'BLOB_UPLOAD_UNKNOWN' ||
      (error.status === 404 && (error.ociCode === undefined || error.ociCode === 'BLOB_UPLOAD_INVALID')))
  );
}

function requireLocation(res: RegistryResponse): string {
  const location = res.header('location');
  if (location === undefined || location === '') {
    throw new RegistryError(`registry answered ${res.status} without a Location for the upload`, {
      status: res.status,
    });
  }
  return new URL(location, res.url).href;
}

/** `Range: 0-1023` (or `bytes=0-1023`) → 1023. */
function rangeEnd(header: string | undefined): number | undefined {
  const match = header === undefined ? null : /(\d+)-(\d+)/.exec(header);
  return match?.[2] === undefined ? undefined : Number(match[2]);
}

function shortDigest(source: BlobSource): string {
  return source.digest === undefined ? `blob of ${source.size} bytes` : `blob ${source.digest.slice(0, 19)}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
