import { stringify } from 'yaml';
import type { MintResult } from '../commands/mint-creds.ts';
import type { WatchEvent } from '../commands/mint-watch.ts';
import { formatDuration } from '../config/units.ts';
import type { Terminal } from './terminal.ts';

/**
 * What `mint-creds` prints. Warnings go to stderr; the result (text, JSON or the redacted dry-run
 * manifests) to stdout. The result holds no secret value by construction: only names and times.
 */
export function showMintResult(term: Terminal, result: MintResult, format: 'text' | 'json', now: Date): void {
  for (const warning of result.warnings) term.err(`${term.errStyle.yellow('warning:')} ${warning}\n`);
  if (format === 'json') {
    term.out(`${JSON.stringify({ schemaVersion: 1, ...result }, null, 2)}\n`);
    return;
  }
  term.out(renderMintText(result, now));
  if (result.outcome === 'dry-run') term.out(result.manifests.map((m) => `---\n${stringify(m)}`).join(''));
}

export function renderMintText(result: MintResult, now: Date): string {
  const left = (iso: string | undefined) =>
    iso === undefined
      ? 'no expiry'
      : `expires ${iso} (in ${formatDuration(Math.max(0, Date.parse(iso) - now.getTime()))})`;
  if (result.outcome === 'fresh') return `Secrets are fresh: nothing to rotate; earliest ${left(result.expiresAt)}\n`;
  const lines = [
    `${result.outcome === 'dry-run' ? 'would write' : 'minted'} credentials of ${result.identity ?? '?'} (${result.source ?? '?'}), ${left(result.expiresAt)}`,
  ];
  for (const s of result.secrets) lines.push(`  ${s.namespace}/${s.name}  ${s.type}  ${s.action}`);
  return `${lines.join('\n')}\n`;
}

/** One `--watch` round: a line per round on stderr, so that stdout stays quiet for log collectors. */
export function showWatchEvent(term: Terminal, event: WatchEvent, format: 'text' | 'json', now: Date): void {
  if (event.kind === 'round') {
    if (format === 'json')
      term.out(
        `${JSON.stringify({ schemaVersion: 1, ...event.result, nextRoundInMs: Number.isFinite(event.nextInMs) ? event.nextInMs : null })}\n`,
      );
    else {
      term.out(renderMintText(event.result, now));
      for (const warning of event.result.warnings) term.err(`${term.errStyle.yellow('warning:')} ${warning}\n`);
      term.out(
        Number.isFinite(event.nextInMs)
          ? `next check in ${formatDuration(event.nextInMs)}\n`
          : 'these credentials do not expire: nothing to rotate, stopping\n',
      );
    }
    return;
  }
  const message = event.error instanceof Error ? event.error.message : String(event.error);
  term.err(`${term.errStyle.red('rotation failed:')} ${message}; retrying in ${formatDuration(event.retryInMs)}\n`);
}
