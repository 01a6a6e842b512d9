// Runs inside a private network namespace (see ecr-world.ts): `node netns-forward.ts SOCKET -- CMD ARGS…`.
// HTTPS to 127.0.0.1:443 is piped to the unix socket of the doubles outside, then CMD runs with the env
// given as JSON in PREFLIGHT_NETNS_ENV (exactly that env: nothing of this wrapper leaks into it).
// Plain Node 24 runs this file directly, so it imports node builtins only.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { constants } from 'node:os';

function parseEnv(json: string | undefined): Record<string, string> {
  const parsed: unknown = JSON.parse(json ?? '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('PREFLIGHT_NETNS_ENV is not a JSON object');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new Error(`PREFLIGHT_NETNS_ENV.${key} is not a string`);
    env[key] = value;
  }
  return env;
}

function pipeTo(socketPath: string, client: Socket): void {
  const upstream = connect(socketPath);
  // A reset on either side ends both; the client sees a dropped connection, as with a real endpoint.
  const end = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
  client.pipe(upstream).pipe(client);
}

async function main(argv: readonly string[]): Promise<void> {
  const [socketPath, separator, command, ...args] = argv;
  if (socketPath === undefined || separator !== '--' || command === undefined)
    throw new Error('usage: netns-forward.ts SOCKET -- CMD [ARGS…]');
  const env = parseEnv(process.env.PREFLIGHT_NETNS_ENV);
  const server = createServer((client) => pipeTo(socketPath, client));
  server.listen(443, '127.0.0.1');
  await once(server, 'listening');

  // The command must not outlive this process (a SIGKILL of the forwarder is how tests kill it):
  // setpriv sets its parent-death signal before exec.
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], { env, stdio: 'inherit' });
  // The test signals this process (the one it spawned); the command is what must hear it.
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
    },
  );
  server.close();
  if (signal !== null) {
    // Die of the same signal, so the test sees what the command saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    // Still here: Node ignores this signal (SIGPIPE); exit as a shell reports a signal death.
    process.exit(128 + constants.signals[signal]);
  }
  process.exitCode = code ?? 1;
  // Keep-alive connections of the command would otherwise hold the loop open.
  process.exit();
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`netns-forward: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(127);
});
