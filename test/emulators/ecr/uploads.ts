import { createHash, randomUUID, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { type Answer, CUT, registryError } from './answers.ts';
import type { EcrLimits } from './rules.ts';
import { writeBody } from './sparse.ts';

const MiB = 1024 * 1024;

/** A body part as the request announces it, before a byte of it is read. */
export interface PartClaim {
  /** `Content-Range: a-b`, when sent. */
  readonly range: { readonly start: number; readonly end: number } | undefined;
  readonly contentLength: number | undefined;
  /** The PUT that completes the upload carries it. */
  readonly final: boolean;
}

/** How a part will be taken: `chunked` parts obey the part quotas, a `streamed` one is split by ECR's proxy. */
type Plan = { readonly kind: 'chunked'; readonly length: number | undefined } | { readonly kind: 'streamed' };

function invalid(message: string): Answer {
  return registryError(400, 'BLOB_UPLOAD_INVALID', message);
}

/** One blob upload session: the bytes held so far in a temp file, and their running sha256. */
export class UploadSession {
  readonly id = randomUUID();
  readonly repository: string;
  readonly path: string;
  held = 0;
  parts = 0;
  #firstPartEnd: number | undefined;
  #lastPartSmall = false;
  #streamed = false;
  #busy = false;
  #hash: Hash = createHash('sha256');
  readonly #file: FileHandle;

  private constructor(repository: string, path: string, file: FileHandle) {
    this.repository = repository;
    this.path = path;
    this.#file = file;
  }

  static async open(repository: string, path: string): Promise<UploadSession> {
    return new UploadSession(repository, path, await open(path, 'w+'));
  }

  /**
   * The `Range` ECR answers: it advances with the first part and then sticks there, although later
   * parts are stored (aws/containers-roadmap#2831, crashappsec/chalk#682). Before any part, `0-0`.
   */
  staleRange(): string {
    return `0-${this.#firstPartEnd ?? 0}`;
  }

  digest(): string {
    return `sha256:${this.#hash.copy().digest('hex')}`;
  }

  /** Why ECR refuses this part before reading it, if it does. */
  refuse(claim: PartClaim, limits: EcrLimits): Answer | undefined {
    const plan = this.#plan(claim);
    if (plan.kind !== 'chunked' && plan.kind !== 'streamed') return plan;
    if (plan.kind === 'streamed') {
      // "Maximum layer size: 52,000 MiB" (Amazon ECR service quotas) applies to streamed layers too.
      if (claim.contentLength !== undefined && claim.contentLength > limits.maxLayerBytes) return layerTooLarge(limits);
      return undefined;
    }
    const end = claim.range === undefined ? this.held + (plan.length ?? 1) - 1 : claim.range.end;
    if (end + 1 > limits.maxLayerBytes) return layerTooLarge(limits);
    // "Layer parts: 4,200" (Amazon ECR service quotas).
    if (this.parts + 1 > limits.maxParts)
      return invalid(`LimitExceededException: an upload takes at most ${limits.maxParts} layer parts`);
    if (this.#streamed) return invalid('a layer streamed without Content-Range takes no further parts');
    // "Minimum layer part size: 5 MiB" (Amazon ECR service quotas): only the last part may be smaller,
    // and ECR finds out when another part follows.
    if (this.#lastPartSmall)
      return invalid(
        `LayerPartTooSmallException: a layer part other than the last must be at least ${limits.minPartBytes / MiB} MiB`,
      );
    // "Maximum layer part size: 10 MiB" (Amazon ECR service quotas).
    if (plan.length !== undefined && plan.length > limits.maxPartBytes)
      return invalid(`InvalidLayerPartException: a layer part must be at most ${limits.maxPartBytes / MiB} MiB`);
    return undefined;
  }

  /** Read the part into the session. Nothing of a part that does not arrive whole is kept. */
  async take(req: IncomingMessage, claim: PartClaim, limits: EcrLimits): Promise<{ stored: number } | Answer> {
    const plan = this.#plan(claim);
    if (plan.kind !== 'chunked' && plan.kind !== 'streamed') return plan;
    if (this.#busy) return invalid('another part of this upload is still arriving');
    this.#busy = true;
    const before = { held: this.held, hash: this.#hash.copy() };
    try {
      const chunked = plan.kind === 'chunked';
      const expected = chunked ? plan.length : undefined;
      const limit = chunked ? (plan.length ?? limits.maxPartBytes) : limits.maxLayerBytes - this.held;
      const outcome = await writeBody(req, this.#file, this.#hash, this.held, limit).catch(async (error: unknown) => {
        this.#hash = before.hash;
        await this.#file.truncate(before.held);
        throw error;
      });
      const whole = outcome.kind === 'complete' && req.complete;
      const rightLength = expected === undefined || outcome.bytes === expected;
      if (!whole || !rightLength) {
        this.#hash = before.hash;
        await this.#file.truncate(before.held);
        if (outcome.kind === 'over' && !chunked) return layerTooLarge(limits);
        if (outcome.kind === 'over' && expected === undefined)
          return invalid(`InvalidLayerPartException: a layer part must be at most ${limits.maxPartBytes / MiB} MiB`);
        if (outcome.kind === 'over' || whole) return invalid('the layer part is not as long as its Content-Range says');
        return CUT;
      }
      this.held += outcome.bytes;
      await this.#file.truncate(this.held);
      this.parts += 1;
      if (this.#firstPartEnd === undefined && this.held > 0) this.#firstPartEnd = this.held - 1;
      this.#lastPartSmall = chunked && outcome.bytes < limits.minPartBytes;
      this.#streamed ||= !chunked;
      return { stored: outcome.bytes };
    } finally {
      this.#busy = false;
    }
  }

  async close(): Promise<void> {
    await this.#file.close();
  }

  async discard(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  #plan(claim: PartClaim): Plan | Answer {
    const { range, contentLength } = claim;
    if (range !== undefined) {
      // ECR names the offset it holds (aws/containers-roadmap#2831, crashappsec/chalk#682).
      if (range.start !== this.held)
        return registryError(
          416,
          'BLOB_UPLOAD_INVALID',
          `First byte of the layer part is ${range.start} instead of ${this.held}`,
        );
      const length = range.end - range.start + 1;
      if (length < 1 || (contentLength !== undefined && contentLength !== length))
        return invalid(
          `Content-Range ${range.start}-${range.end} does not match Content-Length ${contentLength ?? 'absent'}`,
        );
      return { kind: 'chunked', length };
    }
    const first = this.held === 0 && this.parts === 0;
    // A body without Content-Range is what `docker push` streams: only as the first write of a session.
    if (first) return { kind: 'streamed' };
    if (claim.final) return { kind: 'chunked', length: contentLength };
    return invalid('a layer part without Content-Range is accepted only as the first write of an upload');
  }
}

function layerTooLarge(limits: EcrLimits): Answer {
  return invalid(`LimitExceededException: a layer must be at most ${limits.maxLayerBytes / MiB} MiB`);
}
