import { setTimeout as delay } from 'node:timers/promises';
import { type MintInput, type MintResult, mintCredentials } from './mint-creds.ts';

/** Shortest wait between two rounds, so that a mistake can never turn into a hot loop against STS. */
export const MIN_WAIT_MS = 30_000;
/** Longest wait after failures. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * When to look again: `margin` before expiry, pulled earlier by up to a fifth of the margin at random
 * so that several watchers (one per namespace, say) do not rotate in lockstep. A margin as long as the
 * credentials' whole lifetime (1h chained sessions with a 3h margin) would rotate on every round: it is
 * cut to a quarter of the lifetime instead.
 */
export function nextWake(input: { expiresAt: Date; now: Date; lifetimeMs: number; marginMs: number; random: number }): {
  waitMs: number;
  marginMs: number;
} {
  const margin = input.marginMs >= input.lifetimeMs ? Math.floor(input.lifetimeMs / 4) : input.marginMs;
  const jitter = input.random * margin * 0.2;
  const wait = input.expiresAt.getTime() - input.now.getTime() - margin - jitter;
  return { waitMs: Math.max(MIN_WAIT_MS, Math.round(wait)), marginMs: margin };
}

/** Exponential backoff with full jitter after the n-th consecutive failure (n from 1). */
export function backoffMs(failures: number, random: number): number {
  return Math.max(MIN_WAIT_MS / 3, Math.round(random * Math.min(MAX_BACKOFF_MS, MIN_WAIT_MS * 2 ** (failures - 1))));
}

export type WatchEvent =
  | { readonly kind: 'round'; readonly result: MintResult; readonly nextInMs: number }
  | { readonly kind: 'error'; readonly error: unknown; readonly retryInMs: number };

/**
 * `--watch`: mint, sleep until shortly before expiry, rotate, forever. The first round's error is
 * thrown (a wrong flag or missing RBAC will not fix itself); later ones are reported and retried with
 * backoff. Returns when the signal aborts (SIGTERM from the kubelet): a clean stop, not a failure.
 */
export async function watchMint(
  input: MintInput,
  options: { readonly marginMs: number; readonly onEvent: (event: WatchEvent) => void; readonly random?: () => number },
): Promise<void> {
  const random = options.random ?? Math.random;
  let failures = 0;
  let margin = options.marginMs;
  for (let round = 0; !input.signal.aborted; round++) {
    let wait: number;
    try {
      // Rotate anything that expires before the next wake-up could come round again.
      const result = await mintCredentials({
        ...input,
        rotateWithinMs: round === 0 ? input.rotateWithinMs : margin * 1.2 + MIN_WAIT_MS,
      });
      failures = 0;
      const expiresAt = result.expiresAt === undefined ? undefined : new Date(result.expiresAt);
      if (expiresAt === undefined) {
        // Long-lived keys do not expire: nothing to rotate, ever.
        options.onEvent({ kind: 'round', result, nextInMs: Number.POSITIVE_INFINITY });
        return;
      }
      const now = input.now();
      const lifetime =
        result.outcome === 'fresh'
          ? Math.max(expiresAt.getTime() - now.getTime(), 1)
          : expiresAt.getTime() - now.getTime();
      const next = nextWake({ expiresAt, now, lifetimeMs: lifetime, marginMs: options.marginMs, random: random() });
      margin = next.marginMs;
      wait = next.waitMs;
      options.onEvent({ kind: 'round', result, nextInMs: wait });
    } catch (error) {
      if (stopped(input.signal)) return;
      if (round === 0) throw error;
      failures += 1;
      wait = backoffMs(failures, random());
      options.onEvent({ kind: 'error', error, retryInMs: wait });
    }
    try {
      await delay(wait, undefined, { signal: input.signal });
    } catch {
      return;
    }
  }
}

/** Read through a call: the loop condition narrows `signal.aborted` to false, but an await may change it. */
function stopped(signal: AbortSignal): boolean {
  return signal.aborted;
}
