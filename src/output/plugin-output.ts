import type { Terminal } from './terminal.ts';

/**
 * Run `work`. When `reserve` is set, stdout carries a document for a program (`-o json`, `-o junit`,
 * `run -o json`): whatever else writes to stdout meanwhile goes to stderr, and only the terminal
 * handed to `work` still prints on stdout. A plugin is third-party code that may `console.log` (at
 * import or in run) or even `process.stdout.write`; one such line makes the report unparseable for
 * jq or the next pipeline step.
 *
 * The swap is of `stdout.write` itself, not of `console`'s methods: the global console writes through
 * it, so one swap covers console.log/info/debug/table/dir and direct writes alike, with nothing to
 * keep in step with Node's list of console methods. It lasts the whole command, so a timed-out check
 * still running in the background cannot reach stdout either, and it is undone afterwards.
 * Text output is left alone: there stdout is a human's log, and the live view (listr2) already
 * captures stray writes while it draws.
 */
export async function withStdoutReserved<T>(
  term: Terminal,
  reserve: boolean,
  work: (term: Terminal) => Promise<T>,
): Promise<T> {
  if (!reserve) return work(term);
  const { stdout, stderr } = term.io;
  const own = Object.getOwnPropertyDescriptor(stdout, 'write');
  const write = stdout.write.bind(stdout);
  stdout.write = stderr.write.bind(stderr);
  try {
    return await work({ ...term, out: (text) => void write(text) });
  } finally {
    // Put back exactly what was there: usually nothing of its own, the prototype's write.
    if (own === undefined) Reflect.deleteProperty(stdout, 'write');
    else Object.defineProperty(stdout, 'write', own);
  }
}
