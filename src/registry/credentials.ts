import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { PreflightError } from '../errors.ts';

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

export class CredentialError extends PreflightError {
  override readonly exitCode = 2;
}

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
export async function lookupCredentials(host: string, options: CredentialLookupOptions): Promise<RegistryCredentials | undefined> {
  const { env } = options;
  // An empty DOCKER_CONFIG (a Tekton optional workspace left unbound) means unset, not the cwd.
  const dockerDir = env.DOCKER_CONFIG === undefined || env.DOCKER_CONFIG === '' ? join(env.HOME ?? homedir(), '.docker') : env.DOCKER_CONFIG;
  const files = [
    { path: join(dockerDir, 'config.json'), label: `${env.DOCKER_CONFIG === undefined ? '~/.docker' : 'DOCKER_CONFIG'}/config.json` },
    ...(env.REGISTRY_AUTH_FILE === undefined ? [] : [{ path: env.REGISTRY_AUTH_FILE, label: 'REGISTRY_AUTH_FILE' }]),
    ...(env.XDG_RUNTIME_DIR === undefined ? [] : [{ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), label: '$XDG_RUNTIME_DIR/containers/auth.json' }]),
  ];
  for (const file of files) {
    const config = await readConfig(file.path, file.label);
    if (config === undefined) continue;
    const found = await fromConfig(config, host, file.label, options);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function fromConfig(config: ConfigFile, host: string, label: string, options: CredentialLookupOptions): Promise<RegistryCredentials | undefined> {
  const entry = findAuth(config.auths ?? {}, host);
  if (entry !== undefined) {
    const decoded = decodeEntry(entry, host, label);
    if (decoded !== undefined) return decoded;
  }
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper === undefined) return undefined;
  const run = options.runHelper ?? runCredentialHelper;
  const output = await run(helper, host);
  const parsed = v.safeParse(helperAnswer, jsonOrUndefined(output));
  if (!parsed.success) throw new CredentialError(`docker-credential-${helper} returned an unexpected answer for ${host}`, { hint: `run: echo ${host} | docker-credential-${helper} get` });
  // Helpers return the username "<token>" for identity tokens (the docker convention).
  if (parsed.output.Username === '<token>') return { username: '', password: '', identityToken: parsed.output.Secret, source: `docker-credential-${helper}` };
  return { username: parsed.output.Username, password: parsed.output.Secret, source: `docker-credential-${helper}` };
}

/** Where and what was expected, never what was found: the value may be a credential. */
function shapeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const [issue] = issues;
  if (issue === undefined) return 'unknown';
  return `${v.getDotPath(issue) ?? 'the top level'} must be ${issue.expected ?? 'something else'}`;
}

/** JSON.parse's message quotes the text, which here holds a secret: a parse failure says nothing. */
function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
  if (entry.identitytoken !== undefined && entry.identitytoken !== '') return { username: '', password: '', identityToken: entry.identitytoken, source: label };
  if (entry.auth !== undefined && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw new CredentialError(`${label}: the auth entry for ${host} is not base64 of "user:password"`, { hint: `log in again: podman login ${host}` });
    return { username: text.slice(0, colon), password: text.slice(colon + 1), source: label };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password, source: label };
  return undefined;
}

async function readConfig(path: string, label: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return undefined;
    throw new CredentialError(`cannot read ${label} (${path}): ${error instanceof Error ? error.message : String(error)}`, { hint: 'fix its permissions or point DOCKER_CONFIG elsewhere' });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // Only the position: V8's message may quote the text around it, which holds credentials.
    const at = error instanceof Error ? /at position \d+(?: \(line \d+ column \d+\))?/.exec(error.message)?.[0] : undefined;
    throw new CredentialError(`${label} (${path}) is not valid JSON${at === undefined ? '' : ` (${at})`}`, { hint: 'fix or remove the file' });
  }
  const parsed = v.safeParse(configFile, json);
  if (!parsed.success) throw new CredentialError(`${label} (${path}) has an unexpected shape: ${shapeIssue(parsed.issues)}`, { hint: 'fix or remove the file' });
  return parsed.output;
}

/** `docker-credential-<name> get`: the host on stdin, JSON on stdout; nothing on argv. */
function runCredentialHelper(helper: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new CredentialError(`docker-credential-${helper} get failed for ${host}: ${stderr.trim() || error.message}`, { hint: `check that docker-credential-${helper} is installed and logged in` }));
      } else resolve(stdout);
    });
    child.stdin?.end(host);
  });
}
