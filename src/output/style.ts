import { Chalk, type ChalkInstance } from 'chalk';
import type { CheckStatus } from '../plugin.ts';

/** Colours for one stream: none when NO_COLOR is set or the stream is not a terminal. */
export function createStyle(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): ChalkInstance {
  const disabled = (env.NO_COLOR ?? '') !== '' || env.TERM === 'dumb' || !isTTY;
  const forced = (env.FORCE_COLOR ?? '') !== '' && env.FORCE_COLOR !== '0';
  return new Chalk({ level: forced ? 1 : disabled ? 0 : 1 });
}

/** The fixed-width tag of a status in plain output. */
export const STATUS_LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function paintStatus(style: ChalkInstance, status: CheckStatus, text: string): string {
  switch (status) {
    case 'pass':
      return style.green(text);
    case 'warn':
      return style.yellow(text);
    case 'fail':
      return style.red(text);
    case 'skip':
      return style.dim(text);
  }
}
