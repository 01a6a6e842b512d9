import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { endOfArchive, paxEntry, paxRecord, tarEntry } from '../support/tar.ts';
import { testdir } from '../support/testdir.ts';

// Issue 13, case 4: the CLI's abort signal reaches the scan of an archive. Without it a SIGTERM
// during the scan of a hostile archive was ignored (and the scan never ended).
const HANG_BOUND_MS = 30_000;

// A write lease (F_SETLEASE) on the archive: the kernel holds any other open() of it until the lease
// is released, and tells the holder (SIGIO) the moment someone tries. That is the event that proves
// the CLI is inside the archive scan, with no guess at how long anything takes.
const LEASE_HOLDER = `
import fcntl, os, signal, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
signal.signal(signal.SIGIO, lambda *_: print('opening', flush=True))
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print('leased', flush=True)
sys.stdin.readline()
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
`;

describe('preflight push and SIGTERM during the scan of a hostile archive', () => {
  it('ends at once with exit 143', async () => {
    // Position moves backwards: before the fix the scan looped here forever.
    const archive = join(await testdir(), 'hostile.tar');
    await writeFile(
      archive,
      Buffer.concat([paxEntry(paxRecord('size', '-1536')), tarEntry({ name: 'index.json' }), endOfArchive()]),
    );
    const holder = spawn('python3', ['-c', LEASE_HOLDER, archive], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: holder.stdout });
      const events: AsyncIterator<string> = lines[Symbol.asyncIterator]();
      expect((await events.next()).value).toBe('leased');
      let signalled = false;
      const result = await runCli(['push', `oci-archive:${archive}`, '127.0.0.1:9/x:y'], {
        killAfterMs: HANG_BOUND_MS,
        onSpawn: (child) => {
          void events.next().then(({ value }) => {
            if (value !== 'opening') return;
            // The CLI is blocked in open() of the archive: signal it, then let the open complete.
            signalled = child.kill('SIGTERM');
            holder.stdin.end('\n');
          });
        },
      });
      expect(signalled).toBe(true);
      expect(result.signal).toBeNull();
      expect(result.stderr).not.toMatch(/This is a bug|internal error/);
      expect(result.stderr).toMatch(/^error: interrupted by SIGTERM$/m);
      expect(result.code).toBe(143);
    } finally {
      holder.kill('SIGKILL');
      if (holder.exitCode === null && holder.signalCode === null) await once(holder, 'close');
    }
  });
});
