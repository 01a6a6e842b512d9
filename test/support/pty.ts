import { access, constants } from 'node:fs/promises';
import { type CliResult, runCommand } from './cli.ts';

/**
 * Runs argv[3:] with stdin, stdout and stderr on a new pty of the given size and copies what it
 * writes to our stdout. Unlike util-linux `script`, the command stays in our session: a new session
 * is a new scheduler autogroup, and on this machine kind a process in one got no CPU at all while
 * the spawning session ran CPU hogs (`setsid node -e 0` took 93 s beside two busy loops). isatty and
 * the window size need no controlling terminal.
 */
const PTY_RUNNER = `
import fcntl, os, pty, struct, subprocess, sys, termios
columns, rows = int(sys.argv[1]), int(sys.argv[2])
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', rows, columns, 0, 0))
child = subprocess.Popen(sys.argv[3:], stdin=slave, stdout=slave, stderr=slave)
os.close(slave)
while True:
    try:
        data = os.read(master, 65536)
    except OSError:
        break  # EIO: the last holder of the pty's other end is gone
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
code = child.wait()
sys.exit(128 - code if code < 0 else code)
`;

export interface PtyOptions {
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  /** The terminal's width; 0 is a pty that reports no size. */
  readonly columns: number;
  readonly rows?: number;
}

/** Run `argv` on a real pty, as on a developer's terminal; stdout holds everything it wrote (stderr included). */
export async function runInPty(argv: readonly string[], options: PtyOptions): Promise<CliResult> {
  const python = await findPython();
  return runCommand(python, ['-c', PTY_RUNNER, String(options.columns), String(options.rows ?? 40), ...argv], {
    cwd: options.cwd,
    env: options.env,
  });
}

// pyenv's shim (first on PATH on some machines) is a shell script that adds a second or more under load.
async function findPython(): Promise<string> {
  try {
    await access('/usr/bin/python3', constants.X_OK);
    return '/usr/bin/python3';
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 'python3';
    throw error;
  }
}
