#!/usr/bin/env node
// The process entry: the only place that touches signals and the exit code.
import { main } from '../dist/src/cli.js';

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

const code = await main(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }, controller.signal);
process.exitCode = controller.signal.aborted && code === 0 ? 130 : code;
