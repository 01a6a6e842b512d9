import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredBlob {
  readonly path: string;
  readonly size: number;
}

/**
 * Content-addressed blobs on disk, shared by every repository, and which repository holds which:
 * ECR keeps layers per repository, so a blob pushed to one is unknown to another until pushed (or
 * mounted) there.
 */
export class BlobStore {
  readonly #dir: string;
  readonly #blobs = new Map<string, StoredBlob>();
  readonly #held = new Map<string, Set<string>>();
  #ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** A fresh path for an upload's temporary file. */
  async uploadPath(): Promise<string> {
    await this.#prepare();
    return join(this.#dir, 'uploads', randomUUID());
  }

  /** Take a finished upload's file in as `digest`, and give `repository` the blob. */
  async adopt(repository: string, digest: string, file: string): Promise<StoredBlob> {
    const known = this.#blobs.get(digest);
    if (known === undefined) {
      const path = join(this.#dir, 'blobs', digest.replace(':', '-'));
      await rename(file, path);
      const blob = { path, size: (await stat(path)).size };
      this.#blobs.set(digest, blob);
    } else {
      await rm(file, { force: true });
    }
    this.give(repository, digest);
    const blob = this.#blobs.get(digest);
    if (blob === undefined) throw new Error(`blob ${digest} vanished`);
    return blob;
  }

  give(repository: string, digest: string): void {
    const held = this.#held.get(repository) ?? new Set<string>();
    held.add(digest);
    this.#held.set(repository, held);
  }

  /** The blob, when `repository` holds it. */
  get(repository: string, digest: string): StoredBlob | undefined {
    return this.#held.get(repository)?.has(digest) === true ? this.#blobs.get(digest) : undefined;
  }

  /** Any repository's copy: what a presigned download URL points at. */
  any(digest: string): StoredBlob | undefined {
    return this.#blobs.get(digest);
  }

  async #prepare(): Promise<void> {
    this.#ready ??= Promise.all([
      mkdir(join(this.#dir, 'uploads'), { recursive: true }),
      mkdir(join(this.#dir, 'blobs'), { recursive: true }),
    ]).then(() => undefined);
    await this.#ready;
  }
}
