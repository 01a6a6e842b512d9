import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * What a test worker must not leave behind if it dies without its afterAll: server processes and
 * temp dirs. One exit hook for every support module that starts either.
 */
export const liveChildren = new Set<ChildProcess>();
export const liveDirs = new Set<string>();
let installed = false;

export function installExitHook(): void {
  if (installed) return;
  installed = true;
  // 'exit' handlers must be synchronous, hence kill without waiting and rmSync.
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}
