import { createHash, type Hash } from 'node:crypto';

/**
 * sha256 of a blob computed while it streams, with saved states at known offsets. A resume at
 * offset R restores the latest state at or before R, so at most one checkpoint interval is read
 * again (to hash, never to send) instead of the whole blob.
 */
export class HashCheckpoints {
  private hash: Hash = createHash('sha256');
  private hashed = 0;
  private readonly saved: { offset: number; hash: Hash }[] = [{ offset: 0, hash: createHash('sha256') }];
  private readonly keep: number;

  constructor(keep = 8) {
    this.keep = keep;
  }

  /** Bytes hashed so far. */
  get offset(): number {
    return this.hashed;
  }

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.hashed += chunk.length;
  }

  /** Remember the state at the current offset (e.g. a chunk the registry acknowledged). */
  checkpoint(): void {
    const last = this.saved.at(-1);
    if (last?.offset === this.hashed) return;
    this.saved.push({ offset: this.hashed, hash: this.hash.copy() });
    if (this.saved.length > this.keep) this.saved.splice(1, 1); // keep offset 0 for a restart
  }

  /** Rewind to the latest checkpoint at or before `offset`; returns the offset rewound to. */
  rewind(offset: number): number {
    const found = this.saved.filter((c) => c.offset <= offset).at(-1) ?? { offset: 0, hash: createHash('sha256') };
    this.hash = found.hash.copy();
    this.hashed = found.offset;
    // Drop checkpoints beyond the rewind point: they describe bytes that will be hashed again.
    while ((this.saved.at(-1)?.offset ?? 0) > found.offset) this.saved.pop();
    return found.offset;
  }

  /** `sha256:<hex>` of everything hashed. Does not end the running hash. */
  digest(): string {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }
}
