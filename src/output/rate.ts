import { formatBytes, formatDuration } from '../config/units.ts';

/** Bytes done of a total, with a rate over the whole run and an ETA: `1.2 GiB / 2.0 GiB (60%), 110.3 MiB/s, ETA 7s`. */
export function formatTransfer(done: number, total: number, elapsedMs: number): string {
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const eta = rate > 0 && done < total ? `, ETA ${formatDuration(Math.ceil((total - done) / rate) * 1000)}` : '';
  return `${formatBytes(done)} / ${formatBytes(total)} (${percent}%)${rate > 0 ? `, ${formatBytes(rate)}/s` : ''}${eta}`;
}

/** `sha256:0123456789ab`: enough of a digest to tell blobs apart in a log line. */
export function shortDigest(digest: string): string {
  // Digests shorten to `sha256:` plus 12 hex; other ids (a modelcar layer before its digest is known) stay readable.
  return digest.startsWith('sha256:') ? digest.slice(0, 19) : digest.length > 60 ? `…${digest.slice(-59)}` : digest;
}
