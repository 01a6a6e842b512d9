/** Bearer tokens per scope, dropped a little before they expire so a request never races expiry. */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  get(scope: string): string | undefined {
    const entry = this.tokens.get(scope);
    if (entry === undefined || entry.expiresAt <= this.now()) return undefined;
    return entry.token;
  }

  set(scope: string, token: string, expiresInSeconds: number): void {
    // 10 s of margin, but never below half the lifetime for very short tokens.
    const margin = Math.min(10, expiresInSeconds / 2) * 1000;
    this.tokens.set(scope, { token, expiresAt: this.now() + expiresInSeconds * 1000 - margin });
  }
}
