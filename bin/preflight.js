#!/usr/bin/env node
// The process entry: the only place that touches signals and exits.
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Reuse V8's compiled code across runs (Node >= 22.1): loading undici and the registry client
// is a third of a no-op re-push. It lives beside the digest cache, not in TMPDIR, which preflight
// keeps free (a failure to write it is silent and costs nothing but the speed-up).
const cacheHome = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), '.cache');
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || join(cacheHome, 'preflight', 'compile-cache'));
const { main } = await import('../dist/src/cli.js');

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupts += 1;
    // A second Ctrl-C means "now": do not wait for checks that ignore their AbortSignal.
    if (interrupts > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort(`interrupted by ${signal}`);
  });
}

const code = await main(process.argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }, controller.signal);
// Exit explicitly: a timed-out check (or a plugin) may still hold a socket or timer open, and the
// run is over. Flush first, since pipes are asynchronous on macOS and the report must not be cut.
const flush = (stream) => new Promise((resolve) => stream.write('', resolve));
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);
