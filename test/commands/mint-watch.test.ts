import { describe, expect, it } from 'vitest';
import { backoffMs, MAX_BACKOFF_MS, MIN_WAIT_MS, nextWake } from '../../src/commands/mint-watch.ts';

const HOUR = 3600_000;
const now = new Date('2026-11-23T10:00:00Z');

describe('mint-creds --watch scheduling', () => {
  it('wakes a margin before expiry, pulled earlier by up to a fifth of the margin', () => {
    const expiresAt = new Date(now.getTime() + 12 * HOUR);
    expect(nextWake({ expiresAt, now, lifetimeMs: 12 * HOUR, marginMs: 3 * HOUR, random: 0 }).waitMs).toBe(9 * HOUR);
    expect(nextWake({ expiresAt, now, lifetimeMs: 12 * HOUR, marginMs: 3 * HOUR, random: 1 }).waitMs).toBe(
      9 * HOUR - 0.6 * HOUR,
    );
  });

  it('cuts a margin as long as the lifetime to a quarter of it (1h chained sessions, 3h margin)', () => {
    const expiresAt = new Date(now.getTime() + HOUR);
    expect(nextWake({ expiresAt, now, lifetimeMs: HOUR, marginMs: 3 * HOUR, random: 0 })).toEqual({
      waitMs: 0.75 * HOUR,
      marginMs: 0.25 * HOUR,
    });
  });

  it('never waits less than the minimum, even for something already expiring', () => {
    expect(nextWake({ expiresAt: now, now, lifetimeMs: 1000, marginMs: HOUR, random: 0.5 }).waitMs).toBe(MIN_WAIT_MS);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 1)).toBe(MIN_WAIT_MS);
    expect(backoffMs(3, 1)).toBe(4 * MIN_WAIT_MS);
    expect(backoffMs(30, 1)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(30, 0)).toBe(MIN_WAIT_MS / 3);
  });
});
