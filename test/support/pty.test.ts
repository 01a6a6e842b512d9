import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runInPty } from './pty.ts';
import { testdir } from './testdir.ts';

// Field 6 of /proc/PID/stat is the session id (field 2, the command, has no spaces here).
const sessionOf = (stat: string): string | undefined => stat.split(' ')[5];
const PROBE = `const fs = require('node:fs');
const [rows, columns] = [process.stdout.rows, process.stdout.columns];
console.log(JSON.stringify({ tty: process.stdout.isTTY === true && process.stdin.isTTY === true, columns, rows,
  session: fs.readFileSync('/proc/self/stat', 'utf8').split(' ')[5] }));
process.exitCode = 7;`;

describe('runInPty', () => {
  it('runs the command on a pty of the given size, in our own session (scheduler autogroup), with its exit code', async () => {
    const cwd = await testdir();
    const result = await runInPty([process.execPath, '-e', PROBE], {
      cwd,
      env: { PATH: process.env.PATH },
      columns: 77,
      rows: 21,
    });
    expect(result.code).toBe(7);
    const line = result.stdout.split(/\r?\n/).find((l) => l.startsWith('{'));
    expect(JSON.parse(line ?? 'null')).toEqual({
      tty: true,
      columns: 77,
      rows: 21,
      session: sessionOf(await readFile('/proc/self/stat', 'utf8')),
    });
  });

  it('reports a pty without a size as 0 columns', async () => {
    const cwd = await testdir();
    const result = await runInPty([process.execPath, '-e', PROBE], {
      cwd,
      env: { PATH: process.env.PATH },
      columns: 0,
    });
    const line = result.stdout.split(/\r?\n/).find((l) => l.startsWith('{'));
    expect(JSON.parse(line ?? 'null')).toMatchObject({ tty: true, columns: 0 });
  });
});
