#!/usr/bin/env node
// The process entry: the only place that touches signals and exits.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Before anything of preflight loads (so only syntax old Node parses, and only node: builtins
// above): on an older Node the first sign would be a TypeError deep inside undici. engines in
// package.json names the same version (test/e2e/node-version.test.ts holds them together).
const NODE_NEEDED = '22.15';
if (olderThan(process.versions.node, NODE_NEEDED)) {
  await new Promise((resolve) =>
    process.stderr.write(
      `preflight needs Node.js ${NODE_NEEDED} or newer (this is v${process.versions.node}): install Node.js 24 LTS, e.g. nvm install 24 or https://nodejs.org\n`,
      resolve,
    ),
  );
  process.exit(1);
}

// Reuse V8's compiled code across runs (Node >= 22.1): loading undici and the registry client
// is a third of a no-op re-push. It lives beside the digest cache, not in TMPDIR, which preflight
// keeps free (a failure to write it is silent and costs nothing but the speed-up).
const compileCache = process.env.NODE_COMPILE_CACHE || privateCacheRoot();
if (compileCache !== undefined) module.enableCompileCache?.(compileCache);
const [{ main }, { AbortedError }] = await Promise.all([import('../dist/src/cli.js'), import('../dist/src/errors.js')]);

// `preflight check --help | head`: a reader that goes away is not a crash. The work goes on and
// exits with its own code; what it would still print has nowhere to go.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupts += 1;
    // A second Ctrl-C means "now": do not wait for checks that ignore their AbortSignal.
    if (interrupts > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    // The reason names the signal: main() reports whatever the work threw after this as the
    // interruption, exit 130 or 143, whichever command was running.
    controller.abort(new AbortedError(signal));
  });
}

const code = await main(
  process.argv,
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
  controller.signal,
);
// Exit explicitly: a timed-out check (or a plugin) may still hold a socket or timer open, and the
// run is over. Flush first, since pipes are asynchronous on macOS and the report must not be cut.
const flush = (stream) => new Promise((resolve) => stream.write('', resolve));
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);

/**
 * The compile cache folder inside `$XDG_CACHE_HOME/preflight` (or `~/.cache/preflight`), whose root
 * is made 0700 first: Node would create it 0755, and the digest cache beside it names the files of
 * every model built here. A root we own that is wider (or narrower) is set to 0700 (one stat). A root
 * we cannot create, or do not own, means no compile cache: it is only a speed-up, and code cached
 * where someone else can write is not code we should load.
 */
function privateCacheRoot() {
  const cacheHome = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), '.cache');
  const root = join(cacheHome, 'preflight');
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const { uid, mode } = statSync(root);
    if (uid !== process.getuid?.()) return undefined;
    if ((mode & 0o777) !== 0o700) chmodSync(root, 0o700);
  } catch {
    return undefined;
  }
  return join(root, 'compile-cache');
}

/** `22.14.0` is older than `22.15`; compares major, then minor, as numbers. */
function olderThan(version, needed) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = needed.split('.').map(Number);
  return major < needMajor || (major === needMajor && minor < needMinor);
}
