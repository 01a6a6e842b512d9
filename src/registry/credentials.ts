import { type ExecFileException, execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { CredentialError } from '../errors.ts';
import { parseUntrustedJson, untrustedJson } from '../util/json.ts';
import { SmallFileError, readSmallFile } from '../util/small-file.ts';
import { summariseForeignText } from '../util/redact.ts';

/** Username/password (or identity token) for one registry. Never logged. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
  /** An OAuth2 refresh token (`identitytoken`), used for the bearer token request when present. */
  readonly identityToken?: string;
  /** Where they came from, for messages: `DOCKER_CONFIG/config.json`, `docker-credential-ecr-login`. */
  readonly source: string;
  /** When they stop working (ECR tokens); undefined for static credentials. */
  readonly expiresAt?: Date;
}

/** Supplies ECR registry tokens (`ecr:GetAuthorizationToken`); implemented with the AWS SDK. */
export interface EcrTokenSource {
  token(registryHost: string): Promise<{ username: string; password: string; expiresAt: Date }>;
}

// Declared with every other error class in src/errors.ts (one table of codes).
export { CredentialError };

const authEntry = v.object({
  auth: v.optional(v.string()),
  username: v.optional(v.string()),
  password: v.optional(v.string()),
  identitytoken: v.optional(v.string()),
});
type AuthEntry = v.InferOutput<typeof authEntry>;
const configFile = v.object({
  auths: v.optional(v.record(v.string(), authEntry)),
  credHelpers: v.optional(v.record(v.string(), v.string())),
  credsStore: v.optional(v.string()),
});
type ConfigFile = v.InferOutput<typeof configFile>;
const helperAnswer = v.object({ Username: v.string(), Secret: v.string() });

export interface CredentialLookupOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs `docker-credential-<name> get`; injectable for tests. */
  readonly runHelper?: (helper: string, host: string) => Promise<string>;
}

/**
 * Credentials for `host` from the files docker, podman, buildah, skopeo and Kaniko use, in that
 * order: DOCKER_CONFIG/config.json (auths, then credHelpers, then credsStore), REGISTRY_AUTH_FILE,
 * then ${XDG_RUNTIME_DIR}/containers/auth.json. Undefined means anonymous.
 */
export async function lookupCredentials(
  host: string,
  options: CredentialLookupOptions,
): Promise<RegistryCredentials | undefined> {
  const { env } = options;
  // An empty DOCKER_CONFIG (a Tekton optional workspace left unbound) means unset, not the cwd.
  const dockerDir =
    env.DOCKER_CONFIG === undefined || env.DOCKER_CONFIG === ''
      ? join(env.HOME ?? homedir(), '.docker')
      : env.DOCKER_CONFIG;
  const files = [
    {
      path: join(dockerDir, 'config.json'),
      label: `${env.DOCKER_CONFIG === undefined ? '~/.docker' : 'DOCKER_CONFIG'}/config.json`,
    },
    ...(env.REGISTRY_AUTH_FILE === undefined ? [] : [{ path: env.REGISTRY_AUTH_FILE, label: 'REGISTRY_AUTH_FILE' }]),
    ...(env.XDG_RUNTIME_DIR === undefined
      ? []
      : [
          {
            path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'),
            label: '$XDG_RUNTIME_DIR/containers/auth.json',
          },
        ]),
  ];
  for (const file of files) {
    const config = await readConfig(file.path, file.label);
    if (config === undefined) continue;
    const found = await fromConfig(config, host, file.label, options);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function fromConfig(
  config: ConfigFile,
  host: string,
  label: string,
  options: CredentialLookupOptions,
): Promise<RegistryCredentials | undefined> {
  const entry = findAuth(config.auths ?? {}, host);
  if (entry !== undefined) {
    const decoded = decodeEntry(entry, host, label);
    if (decoded !== undefined) return decoded;
  }
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper === undefined) return undefined;
  const run = options.runHelper ?? runCredentialHelper;
  const output = await run(helper, host);
  const answer = parseUntrustedJson(output);
  const parsed = v.safeParse(helperAnswer, answer.ok ? answer.value : undefined);
  if (!parsed.success)
    throw new CredentialError(`docker-credential-${helper} returned an unexpected answer for ${host}`, {
      hint: `run: echo ${host} | docker-credential-${helper} get`,
    });
  // Helpers return the username "<token>" for identity tokens (the docker convention).
  if (parsed.output.Username === '<token>')
    return { username: '', password: '', identityToken: parsed.output.Secret, source: `docker-credential-${helper}` };
  return { username: parsed.output.Username, password: parsed.output.Secret, source: `docker-credential-${helper}` };
}

/** Where and what was expected, never what was found: the value may be a credential. */
function shapeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const [issue] = issues;
  if (issue === undefined) return 'unknown';
  return `${v.getDotPath(issue) ?? 'the top level'} must be ${issue.expected ?? 'something else'}`;
}

/** Keys in `auths` may be `host`, `https://host`, `https://host/v1/` (Docker Hub) etc. */
function findAuth(auths: Record<string, AuthEntry>, host: string): AuthEntry | undefined {
  const wanted = host === 'docker.io' ? ['docker.io', 'index.docker.io', 'registry-1.docker.io'] : [host];
  for (const [key, value] of Object.entries(auths)) {
    const normalised = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (wanted.includes(normalised)) return value;
  }
  return undefined;
}

function decodeEntry(entry: AuthEntry, host: string, label: string): RegistryCredentials | undefined {
  if (entry.identitytoken !== undefined && entry.identitytoken !== '')
    return { username: '', password: '', identityToken: entry.identitytoken, source: label };
  if (entry.auth !== undefined && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0)
      throw new CredentialError(`${label}: the auth entry for ${host} is not base64 of "user:password"`, {
        hint: `log in again: podman login ${host}`,
      });
    return { username: text.slice(0, colon), password: text.slice(colon + 1), source: label };
  }
  if (entry.username !== undefined && entry.password !== undefined)
    return { username: entry.username, password: entry.password, source: label };
  return undefined;
}

// A config.json with a few hundred registries is some KiB; anything near this is not one.
const CONFIG_LIMIT = 4 * 2 ** 20;

async function readConfig(path: string, label: string): Promise<ConfigFile | undefined> {
  let bytes: Buffer;
  try {
    // A regular file, bounded: a config.json linked to /dev/zero must not exhaust memory.
    bytes = await readSmallFile(path, CONFIG_LIMIT);
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR'))
      return undefined;
    const why =
      error instanceof SmallFileError
        ? error.message.slice(path.length + 1)
        : error instanceof Error
          ? error.message
          : String(error);
    throw new CredentialError(`cannot read ${label} (${path}): ${why}`, {
      hint: 'fix it or point DOCKER_CONFIG elsewhere',
    });
  }
  // The text holds credentials: a parse error names the position only.
  const json = untrustedJson(
    bytes,
    (problem) => new CredentialError(`${label} (${path}) is ${problem}`, { hint: 'fix or remove the file' }),
  );
  const parsed = v.safeParse(configFile, json);
  if (!parsed.success)
    throw new CredentialError(`${label} (${path}) has an unexpected shape: ${shapeIssue(parsed.issues)}`, {
      hint: 'fix or remove the file',
    });
  return parsed.output;
}

const HELPER_TIMEOUT_MS = 30_000;

/**
 * `docker-credential-<name> get`: the host on stdin, JSON on stdout; nothing on argv. Its stderr is
 * written for humans and may hold a token: a failure shows one redacted line of it, never the whole.
 */
function runCredentialHelper(helper: string, host: string): Promise<string> {
  const program = `docker-credential-${helper}`;
  // A name with a slash is a path: "x/../evil" would run a file from the working directory.
  if (/[/\\]/.test(helper)) {
    return Promise.reject(
      new CredentialError(`credential helper "${helper}" is a path, not a helper name`, {
        hint: 'name a docker-credential-<name> program on PATH in credHelpers or credsStore of the registry config.json',
      }),
    );
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      ['get'],
      { timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const notFound = error.code === 'ENOENT';
          reject(
            new CredentialError(`${program} get failed for ${host}: ${helperFailure(error, stderr)}`, {
              hint: notFound
                ? `install ${program}, or remove it from credHelpers / credsStore in the registry config.json`
                : `run: echo ${host} | ${program} get   (to see its whole output); check that it is logged in`,
            }),
          );
        } else resolve(stdout);
      },
    );
    child.stdin?.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE: the helper exited without reading the host; its exit status tells the story. Anything
      // else: stop it rather than leave it waiting for a host it will never get.
      if (error.code !== 'EPIPE') child.kill();
    });
    child.stdin?.end(host);
  });
}

function helperFailure(error: ExecFileException, stderr: string): string {
  if (error.code === 'ENOENT') return 'not found on PATH';
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return 'printed more than 1 MiB';
  if (typeof error.code === 'string') return `cannot be run (${error.code})`;
  if (error.killed === true) return `timed out after ${HELPER_TIMEOUT_MS / 1000}s`;
  const status =
    typeof error.code === 'number' ? `exited with status ${error.code}` : `killed by ${error.signal ?? 'a signal'}`;
  const summary = summariseForeignText(stderr);
  return summary === undefined ? status : `${status}: ${summary}`;
}
