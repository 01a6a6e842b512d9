import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awsRequestHandler } from '../emulators/aws/server.ts';
import { AwsState, type Identity } from '../emulators/aws/state.ts';
import { ecrStorageHost } from '../emulators/ecr/blobs.ts';
import { createEcrRegistry, type EcrRegistry } from '../emulators/ecr/registry.ts';
import { writeCertificates } from './certificates.ts';
import { CLI, type CliResult, REPO_ROOT } from './cli.ts';
import { installExitHook, liveChildren, liveDirs } from './leftovers.ts';

export interface EcrWorld {
  readonly account: string;
  readonly region: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  readonly registryHost: string;
  /** The AWS emulator's state (identities, repositories, decisions, ecrTokens, calls). */
  readonly state: AwsState;
  /** The ECR registry double (its log for assertions). */
  readonly registry: EcrRegistry;
  /** PEM of the throwaway CA behind every host name of the world. */
  readonly caFile: string;
  /** Env for a spawned CLI as `identity`, reaching AWS by its real host names: no AWS_ENDPOINT_URL* at all. */
  env(identity: Identity): Record<string, string>;
  /** Spawn the built CLI inside the namespace; `env` is its whole env (plus PATH and NO_COLOR when absent). */
  runCli(args: readonly string[], options?: WorldRunOptions): Promise<CliResult>;
  /** Any command inside the namespace (`getent hosts`, `sh -c`); `env` is its whole env (plus PATH when absent). */
  run(command: string, argv: readonly string[], options?: WorldRunOptions): Promise<CliResult>;
  /**
   * The same registry and its S3 storage on plain-HTTP loopback ports, for the test process itself
   * (seeding a base, reading an image back), which lives outside the namespace and its host names.
   */
  onLoopback<T>(use: (endpoints: LoopbackEndpoints) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface LoopbackEndpoints {
  /** `127.0.0.1:PORT` of the registry. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` standing in for the S3 origin that blob GETs redirect to. */
  readonly storageUrl: string;
}

export interface WorldRunOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Called with the stdout so far on every chunk; `kill` reaches the command (SIGINT/SIGTERM through the forwarder; SIGKILL kills the forwarder, whose death kills the command). */
  readonly onStdout?: (soFar: string, child: { kill(signal: NodeJS.Signals): boolean }) => void;
}

const FORWARDER = fileURLToPath(new URL('./netns-forward.ts', import.meta.url));
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Values reach the script through the env, never by interpolation.
const ENTER =
  'ip link set lo up && mount --bind "$PREFLIGHT_NETNS_HOSTS" /etc/hosts && exec "$PREFLIGHT_NETNS_NODE" "$PREFLIGHT_NETNS_SCRIPT" "$PREFLIGHT_NETNS_SOCKET" -- "$@"';

let support: { ok: true } | { ok: false; reason: string } | undefined;

/** Whether namespaces can be made here (root, unshare, ip). Under CI=true an unsupported machine throws: a failure, never a skip. */
export function namespaceSupport(): { ok: true } | { ok: false; reason: string } {
  support ??= probeNamespaces();
  if (!support.ok && process.env.CI === 'true')
    throw new Error(`the ECR world needs network namespaces under CI=true: ${support.reason}`);
  return support;
}

function probeNamespaces(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'unshare --net --mount needs root' };
  const probe = spawnSync('unshare', ['--net', '--mount', '--', 'sh', '-c', 'ip link set lo up'], {
    env: { PATH: process.env.PATH ?? FALLBACK_PATH },
    encoding: 'utf8',
    // A hang bound: the probe takes milliseconds, but a busy machine may not schedule it for seconds.
    timeout: 60_000,
  });
  if (probe.error !== undefined)
    return { ok: false, reason: `unshare could not run (${probe.error.message}): run npm run setup` };
  if (probe.status !== 0)
    return {
      ok: false,
      reason: `unshare --net --mount -- ip link set lo up failed (${String(probe.status ?? probe.signal)}): ${probe.stderr.trim()}`,
    };
  return { ok: true };
}

/**
 * ECR, STS and IAM under their real host names, for the built CLI run in a private network and mount
 * namespace: there those names (and nothing else) resolve to 127.0.0.1, where a forwarder pipes :443
 * to one HTTPS server in this process (on a unix socket, which crosses namespaces). Its certificate
 * comes from a throwaway CA the CLI trusts through NODE_EXTRA_CA_CERTS.
 */
export async function startEcrWorld(options: { account?: string; region?: string } = {}): Promise<EcrWorld> {
  const support = namespaceSupport();
  if (!support.ok) throw new Error(`cannot start the ECR world: ${support.reason}`);
  const account = options.account ?? String(randomInt(100_000_000_000, 1_000_000_000_000));
  const region = options.region ?? 'eu-west-1';
  // Both end up in a certificate extension file and /etc/hosts.
  if (!/^\d{12}$/.test(account)) throw new Error(`account ${account} is not 12 digits`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`region ${region} is not an AWS region name`);
  const registryHost = `${account}.dkr.ecr.${region}.amazonaws.com`;
  const storageHost = ecrStorageHost(region);
  const services = [
    `api.ecr.${region}.amazonaws.com`,
    `ecr.${region}.amazonaws.com`,
    `sts.${region}.amazonaws.com`,
    'sts.amazonaws.com',
    'iam.amazonaws.com',
    storageHost,
  ];

  const dir = await mkdtemp(join(tmpdir(), 'preflight-ecr-world-'));
  installExitHook();
  liveDirs.add(dir);
  const removeDir = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  let registry: EcrRegistry | undefined;
  try {
    const names = [`*.dkr.ecr.${region}.amazonaws.com`, ...services];
    const { caFile, cert, key } = await writeCertificates(dir, {
      subjectAltName: names.map((name) => `DNS:${name}`).join(','),
      commonName: 'amazonaws.com',
      caName: 'preflight ECR world CA',
    });
    const hostsFile = join(dir, 'hosts');
    // One line per name, so each is its own canonical name (what `getent hosts` prints).
    await writeFile(hostsFile, ['localhost', registryHost, ...services].map((name) => `127.0.0.1 ${name}\n`).join(''));
    const home = join(dir, 'home');
    await mkdir(join(home, '.docker'), { recursive: true });
    await mkdir(join(dir, 'registry'));
    const state = new AwsState();
    const ecrRegistry = createEcrRegistry({ state, dir: join(dir, 'registry'), region, defaultAccount: account });
    registry = ecrRegistry;
    const aws = awsRequestHandler(state);
    const server = createServer({ cert, key }, (req: IncomingMessage, res: ServerResponse) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (host.includes('.dkr.ecr.')) ecrRegistry.handle(req, res);
      else if (host === storageHost) ecrRegistry.handleStorage(req, res);
      else aws(req, res);
    });
    // A large streamed layer takes longer than node's default 5 minute request timeout.
    server.requestTimeout = 0;
    const socket = join(dir, 'https.sock');
    // sun_path holds 108 bytes; a long TMPDIR would otherwise fail with a bare EINVAL.
    if (Buffer.byteLength(socket) > 100)
      throw new Error(`the socket path ${socket} is too long for a unix socket: set a shorter TMPDIR`);
    server.listen(socket);
    await once(server, 'listening');

    const children = new Set<ChildProcess>();
    const inside = (
      command: string,
      argv: readonly string[],
      env: Record<string, string>,
      run: WorldRunOptions,
    ): Promise<CliResult> =>
      spawnInside({
        command,
        argv,
        env,
        hostsFile,
        socket,
        cwd: run.cwd ?? REPO_ROOT,
        onStdout: run.onStdout,
        children,
      });
    const path = process.env.PATH ?? FALLBACK_PATH;
    return {
      account,
      region,
      registryHost,
      state,
      registry: ecrRegistry,
      caFile,
      env: (identity) => ({
        AWS_ACCESS_KEY_ID: identity.accessKeyId,
        AWS_SECRET_ACCESS_KEY: identity.secretAccessKey,
        ...(identity.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: identity.sessionToken }),
        AWS_REGION: region,
        NODE_EXTRA_CA_CERTS: caFile,
        HOME: home,
        DOCKER_CONFIG: join(home, '.docker'),
        // No shared config or EC2 metadata from the machine running the tests.
        AWS_CONFIG_FILE: '/nonexistent/aws-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
        AWS_EC2_METADATA_DISABLED: 'true',
        NO_COLOR: '1',
        PATH: path,
      }),
      runCli: (args, run = {}) =>
        inside(process.execPath, [CLI, ...args], { PATH: path, NO_COLOR: '1', ...run.env }, run),
      run: (command, argv, run = {}) => inside(command, argv, { PATH: path, ...run.env }, run),
      onLoopback: async (use) => {
        const api = await listenLoopback((req, res) => {
          ecrRegistry.handle(req, res);
        });
        const storage = await listenLoopback((req, res) => {
          ecrRegistry.handleStorage(req, res);
        });
        try {
          return await use({ host: api.host, storageUrl: `http://${storage.host}` });
        } finally {
          await Promise.all([api.close(), storage.close()]);
        }
      },
      close: async () => {
        await Promise.all([...children].map((child) => stopChild(child)));
        server.closeAllConnections();
        server.close();
        await once(server, 'close');
        await ecrRegistry.close();
        await removeDir();
      },
    };
  } catch (error) {
    await registry?.close();
    await removeDir();
    throw error;
  }
}

interface InsideSpawn {
  readonly command: string;
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly hostsFile: string;
  readonly socket: string;
  readonly cwd: string;
  readonly onStdout: WorldRunOptions['onStdout'];
  readonly children: Set<ChildProcess>;
}

/** `unshare` execs into sh, which execs the forwarder: the pid we get is the forwarder's. */
function spawnInside(spec: InsideSpawn): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = {
      PATH: process.env.PATH ?? FALLBACK_PATH,
      PREFLIGHT_NETNS_HOSTS: spec.hostsFile,
      PREFLIGHT_NETNS_NODE: process.execPath,
      PREFLIGHT_NETNS_SCRIPT: FORWARDER,
      PREFLIGHT_NETNS_SOCKET: spec.socket,
      PREFLIGHT_NETNS_ENV: JSON.stringify(spec.env),
    };
    const argv = ['--net', '--mount', '--', 'sh', '-c', ENTER, 'sh', spec.command, ...spec.argv];
    // Not detached: a new session is a new scheduler autogroup, and on this machine kind a process in
    // one got no CPU at all while the spawning session ran CPU hogs (a 1-second push took minutes
    // under load). The command dies with the forwarder instead (setpriv --pdeathsig in the forwarder).
    const child = spawn('unshare', argv, { cwd: spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    spec.children.add(child);
    liveChildren.add(child);
    // The forwarder passes SIGINT/SIGTERM on; a SIGKILL kills it, and its death kills the command.
    const kill = (signal: NodeJS.Signals): boolean => child.kill(signal);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      spec.onStdout?.(stdout, { kill });
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      spec.children.delete(child);
      liveChildren.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill('SIGKILL');
  await closed;
}

/** A throwaway CA (ca.pem) and a server certificate for `names` signed by it. */
async function listenLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ host: string; close(): Promise<void> }> {
  const server = createHttpServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return {
    host: `127.0.0.1:${address.port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
