import type { ChalkInstance } from 'chalk';
import { createStyle } from './style.ts';

/** The process's streams and environment, injectable so main() runs in tests without spawning. */
export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Standard input, for commands that read a log (`diagnose`); absent in tests that do not need it. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The one place that writes to the terminal. */
export interface Terminal {
  readonly io: Io;
  /** Live, redrawing output is allowed: stdout is a terminal and this is not CI. */
  readonly interactive: boolean;
  readonly style: ChalkInstance;
  readonly errStyle: ChalkInstance;
  out(text: string): void;
  err(text: string): void;
  debug(message: string): void;
}

export function createTerminal(io: Io, debug: boolean): Terminal {
  const ci = (io.env.CI ?? '') !== '' && io.env.CI !== 'false';
  const errStyle = createStyle(io.stderr.isTTY, io.env);
  return {
    io,
    // A pty with no size (columns 0) would make listr2 wrap every character: treat it as a log.
    interactive: io.stdout.isTTY && !ci && io.env.TERM !== 'dumb' && io.stdout.columns > 0,
    style: createStyle(io.stdout.isTTY, io.env),
    errStyle,
    out: (text) => void io.stdout.write(text),
    err: (text) => void io.stderr.write(text),
    debug: (message) => {
      if (debug) io.stderr.write(`${errStyle.dim(`debug: ${message}`)}\n`);
    },
  };
}
