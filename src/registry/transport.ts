import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import type { Logger } from '../context/types.ts';
import { parseChallenge } from './challenge.ts';
import { type RetryPolicy, DEFAULT_RETRY, backoffDelay, retryAfterMs, sleep } from './backoff.ts';
import type { RegistryCredentials } from './credentials.ts';
import { RegistryError, isExpiredTokenAnswer, parseErrorBody } from './errors.ts';
import { ecrConnectionCut, ecrHint } from './ecr-answers.ts';
import { isLoopbackHost } from './reference.ts';
import { TokenCache } from './token-cache.ts';
import { loadAgent } from './undici-agent.ts';
import { untrustedJson } from '../util/json.ts';
import { isNetworkError, translateNetworkError } from '../util/network-error.ts';
import { readAll, readAtMost } from '../util/read-all.ts';

export interface TransportOptions {
  /** `host[:port]` of the registry API. */
  readonly registry: string;
  /** Named with --insecure-registry: plain HTTP is allowed, as it always is for loopback. */
  readonly insecure?: boolean;
  /** Extra CA certificates (PEM), added to the system roots. */
  readonly ca?: string;
  /** Credentials for the registry; `refresh` asks for new ones after an expiry answer. */
  readonly credentials: (refresh: boolean) => Promise<RegistryCredentials | undefined>;
  readonly retry?: RetryPolicy;
  readonly log?: Logger;
  readonly userAgent?: string;
  /** Injectable for tests: randomness of the backoff jitter. */
  readonly random?: () => number;
}

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RegistryRequest {
  readonly method: Method;
  /** `/v2/...` or an absolute URL (a `Location` the registry handed out). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A factory, so that a retried request gets a fresh body (a stream can only be read once). */
  readonly body?: () => Readable | Buffer | string;
  /** `repository:<name>:pull` or `…:pull,push`: the bearer token scope. */
  readonly scope: string;
  /** Retry 5xx, 429 and network errors. Default: true for GET/HEAD, false otherwise. */
  readonly retry?: boolean;
  /** Long uploads disable undici's header/body timers; the caller's signal is the watchdog. */
  readonly long?: boolean;
  readonly signal?: AbortSignal;
}

export interface RegistryResponse {
  readonly status: number;
  readonly url: string;
  header(name: string): string | undefined;
  /** The body as text, for error answers: the first 64 KiB, the rest discarded. */
  text(): Promise<string>;
  /** The whole body, refusing more than `limit` bytes (a hostile server decides how much it sends). */
  bytes(limit: number): Promise<Buffer>;
  /** Discard the body (frees the connection). */
  dump(): Promise<void>;
  readonly body: Readable;
}

const METADATA_TIMEOUT_MS = 60_000;
// Error answers are a few hundred bytes; a token answer a few KiB (JWTs with many scopes).
const ERROR_BODY_LIMIT = 64 * 2 ** 10;
const TOKEN_BODY_LIMIT = 2 ** 20;
const MAX_AUTH_ROUNDS = 2;

/**
 * HTTP to one registry: keep-alive pool, HTTPS unless the host may speak plain HTTP, auth
 * challenges (Basic, Bearer with per-scope tokens, ECR's expired-token 403), and retries with
 * backoff. It knows nothing of blobs or manifests: callers decide what a status means.
 */
export class RegistryTransport {
  readonly registry: string;
  private readonly options: TransportOptions;
  private readonly agent: Agent;
  private readonly tokens = new TokenCache();
  private scheme: 'https' | 'http' = 'https';
  private schemeSettled: boolean;
  private readonly plainHttpAllowed: boolean;
  private authScheme: 'unknown' | 'basic' | 'bearer' = 'unknown';
  private credentials: RegistryCredentials | undefined;
  private credentialsLoaded = false;

  constructor(options: TransportOptions) {
    this.options = options;
    this.registry = options.registry;
    this.plainHttpAllowed = options.insecure === true || isLoopbackHost(options.registry);
    this.schemeSettled = !this.plainHttpAllowed;
    const AgentClass = loadAgent();
    this.agent = new AgentClass({
      connect: options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] },
      keepAliveTimeout: 30_000,
      // Per-request timeouts below; these are the defaults for token requests.
      headersTimeout: METADATA_TIMEOUT_MS,
      bodyTimeout: METADATA_TIMEOUT_MS,
    });
  }

  /** The origin in use (`https://host` or `http://host`), after the first request settled it. */
  get origin(): string {
    return `${this.scheme}://${this.registry}`;
  }

  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const policy = this.options.retry ?? DEFAULT_RETRY;
    const retry = req.retry ?? (req.method === 'GET' || req.method === 'HEAD');
    let authRounds = 0;
    // Expiring credentials (ECR tokens) go back to the chain before each request: it answers from its
    // cache while the token is fresh and fetches a new one inside its margin, so a long push never
    // starts a part with a token about to expire.
    if (this.credentials?.expiresAt !== undefined) this.credentials = await this.options.credentials(false);
    // A Location or redirect to another origin (blob storage, an upload service) gets no credentials,
    // so its 401 or 403 is its own answer, not a cue to authenticate.
    const own = this.isOwn(req.path);
    for (let attempt = 1; ; attempt += 1) {
      let response: RegistryResponse;
      try {
        response = await this.send(req);
      } catch (error) {
        if (req.signal?.aborted === true) throw error;
        if (!isNetworkError(error) || !retry || attempt >= policy.attempts)
          throw ecrConnectionCut(this.registry, req.method, req.path, error) ?? this.networkError(req.path, error);
        await this.pause(policy, attempt, undefined, req, `network error: ${errorMessage(error)}`);
        continue;
      }
      if (own && (response.status === 401 || (response.status === 403 && req.method !== 'HEAD'))) {
        const body = await response.text();
        const expired = isExpiredTokenAnswer(response.status, body);
        if ((response.status === 401 || expired) && authRounds < MAX_AUTH_ROUNDS) {
          authRounds += 1;
          await this.authenticate(response.header('www-authenticate'), req.scope, authRounds > 1 || expired);
          attempt -= 1; // an auth round is not a failed attempt
          continue;
        }
        throw this.statusError(req, response.status, body);
      }
      if (retry && attempt < policy.attempts && (response.status === 429 || response.status >= 500)) {
        await response.dump();
        await this.pause(policy, attempt, response.header('retry-after'), req, `HTTP ${response.status}`);
        continue;
      }
      return response;
    }
  }

  /** Turn an unexpected status into a RegistryError with the registry's own code and message. */
  statusError(req: Pick<RegistryRequest, 'method' | 'path'>, status: number, body: string): RegistryError {
    const { code, message } = parseErrorBody(body);
    const own = this.isOwn(req.path);
    const what = `${req.method} ${redactPath(req.path, own)}`;
    const detail = [code, message].filter(Boolean).join(': ');
    const foreignHint = `the registry sent this request to another host, which refused it; preflight sends ${this.registry}'s credentials to ${this.registry} only`;
    return new RegistryError(`${this.registry}: ${what} answered ${status}${detail === '' ? '' : ` (${detail})`}`, {
      status,
      ociCode: code,
      hint:
        ecrHint(this.registry, req.path, status, code, message) ??
        (!own && (status === 401 || status === 403) ? foreignHint : hintFor(status, this.registry, this.credentials)),
    });
  }

  /**
   * A failed connection as one line naming the host that failed (the registry, or the other origin a
   * Location sent us to) and the fix; anything else as it is.
   */
  private networkError(path: string, error: unknown): unknown {
    const address = isAbsoluteUrl(path) ? new URL(path).origin : `${this.scheme}://${this.registry}`;
    const foreign = isAbsoluteUrl(path) && !this.isOwn(path);
    return (
      translateNetworkError(error, {
        address,
        service: foreign ? 'the host the registry sent us to' : 'the registry',
      }) ?? error
    );
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async pause(
    policy: RetryPolicy,
    attempt: number,
    retryAfter: string | undefined,
    req: RegistryRequest,
    why: string,
  ): Promise<void> {
    const delay =
      retryAfterMs(retryAfter, new Date(), policy.maxMs) ?? backoffDelay(policy, attempt, this.options.random);
    this.options.log?.debug(
      `${req.method} ${redactPath(req.path, this.isOwn(req.path))}: ${why}; retry ${attempt}/${policy.attempts - 1} in ${delay}ms`,
    );
    await sleep(delay, req.signal);
  }

  private async send(req: RegistryRequest): Promise<RegistryResponse> {
    const scheme = this.scheme;
    try {
      return await this.sendOnce(req, scheme);
    } catch (error) {
      // Loopback and --insecure-registry hosts may speak plain HTTP: fall back only when the server
      // plainly did not speak TLS and no HTTPS request ever succeeded. Requests sent concurrently
      // with the first one all fail the same way, so each of them takes the fallback too.
      const httpsWorked = this.schemeSettled && this.scheme === 'https';
      if (
        scheme !== 'https' ||
        !this.plainHttpAllowed ||
        httpsWorked ||
        isAbsoluteUrl(req.path) ||
        !isPlainHttpAnswer(error)
      )
        throw error;
      if (this.scheme === 'https')
        this.options.log?.debug(
          `${this.registry} does not speak TLS; using plain HTTP (allowed for loopback and --insecure-registry)`,
        );
      this.scheme = 'http';
      this.schemeSettled = true;
      return this.sendOnce(req, 'http');
    }
  }

  private async sendOnce(req: RegistryRequest, scheme: 'https' | 'http'): Promise<RegistryResponse> {
    const url = new URL(req.path, `${scheme}://${this.registry}`);
    if (isAbsoluteUrl(req.path)) this.checkTarget(url);
    // Credentials go to the registry's own origin (scheme, host and port) only: a Location or a
    // redirect to anywhere else (S3, a CDN, a rewritten answer) gets none, as in go-containerregistry
    // and docker's distribution client.
    const authorization =
      url.origin === new URL(`${scheme}://${this.registry}`).origin ? this.authorization(req.scope) : undefined;
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'preflight',
      ...req.headers,
      ...(authorization === undefined ? {} : { authorization }),
    };
    const timeout = req.long === true ? 0 : METADATA_TIMEOUT_MS;
    const options: Dispatcher.RequestOptions = {
      origin: url.origin,
      path: url.pathname + url.search,
      method: req.method,
      headers,
      body: req.body?.() ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: req.signal ?? null,
      // undici closes the connection after every HEAD, in case a misbehaving server sends a body
      // anyway; registries do not, and a push HEADs every blob: keep the connection (on ECR, each
      // new one is a TLS handshake).
      ...(req.method === 'HEAD' ? { reset: false } : {}),
    };
    const res = await this.agent.request(options);
    if (url.protocol === 'https:') this.schemeSettled = true;
    return {
      status: res.statusCode,
      url: url.href,
      header: (name) => {
        const value = res.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      text: async () => (await readAtMost(res.body, ERROR_BODY_LIMIT)).toString('utf8'),
      bytes: (limit) =>
        readAll(
          res.body,
          limit,
          () =>
            new RegistryError(
              `${this.registry}: ${redactPath(url.href, this.isOwn(url.href))} answered more than ${limit} bytes`,
              {
                status: res.statusCode,
                hint: 'the registry (or something between) sent far more than a manifest or config can be',
              },
            ),
        ),
      dump: () => res.body.dump(),
      body: res.body,
    };
  }

  /** Whether `path` (relative, or a URL the registry handed out) is on the registry's own origin. */
  private isOwn(path: string): boolean {
    return !isAbsoluteUrl(path) || new URL(path).origin === new URL(this.origin).origin;
  }

  /**
   * Refuse a URL the registry's traffic must not go to: anything but HTTP(S), and plain HTTP once the
   * registry speaks HTTPS (unless --insecure-registry names it). An upload Location, a redirect or a
   * token realm rewritten to http:// would otherwise carry model bytes, a signed URL or Basic
   * credentials in clear.
   */
  private checkTarget(url: URL): void {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(`${this.registry}: its answer points to a ${url.protocol} URL, not HTTP(S): refused`, {
        status: 0,
        hint: 'something between you and the registry rewrites its answers, or the registry is misconfigured',
      });
    }
    if (url.protocol === 'http:' && this.scheme === 'https' && this.options.insecure !== true) {
      throw new RegistryError(
        `${this.registry} speaks HTTPS, but its answer points to plain http://${url.host}${url.pathname}: refused, nothing was sent there`,
        {
          status: 0,
          hint: `if that host really has no TLS, name the registry with --insecure-registry ${this.registry}; otherwise something between you and the registry rewrites its answers`,
        },
      );
    }
  }

  private authorization(scope: string): string | undefined {
    if (this.authScheme === 'bearer') {
      const token = this.tokens.get(scope);
      return token === undefined ? undefined : `Bearer ${token}`;
    }
    if (this.authScheme === 'basic' && this.credentials !== undefined) {
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    return undefined;
  }

  private async loadCredentials(refresh: boolean): Promise<RegistryCredentials | undefined> {
    if (!this.credentialsLoaded || refresh) {
      this.credentials = await this.options.credentials(refresh);
      this.credentialsLoaded = true;
    }
    return this.credentials;
  }

  private async authenticate(header: string | undefined, scope: string, refresh: boolean): Promise<void> {
    const challenge = header === undefined ? undefined : parseChallenge(header);
    const credentials = await this.loadCredentials(refresh);
    if (challenge?.scheme === 'bearer' && challenge.params.realm !== undefined) {
      this.authScheme = 'bearer';
      const wanted = challenge.params.scope ?? scope;
      const token = await this.fetchToken(challenge.params.realm, challenge.params.service, wanted, credentials);
      this.tokens.set(scope, token.token, token.expiresInSeconds);
      if (wanted !== scope) this.tokens.set(wanted, token.token, token.expiresInSeconds);
      return;
    }
    // Basic, or a registry (ECR) that asks for Basic after an expired token.
    this.authScheme = 'basic';
    if (credentials === undefined) {
      throw new RegistryError(`${this.registry}: authentication required and no credentials were found`, {
        status: 401,
        hint: hintFor(401, this.registry, undefined),
      });
    }
  }

  private async fetchToken(
    realm: string,
    service: string | undefined,
    scope: string,
    credentials: RegistryCredentials | undefined,
  ): Promise<{ token: string; expiresInSeconds: number }> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch (error) {
      throw new RegistryError(`${this.registry}: the token realm in its challenge is not a URL`, {
        status: 401,
        cause: error,
        hint: 'the registry is misconfigured, or something between rewrites its answers',
      });
    }
    // Basic credentials go to the realm: never in clear from a registry that speaks HTTPS.
    this.checkTarget(url);
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'preflight' };
    if (credentials !== undefined && credentials.identityToken === undefined) {
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const res = await this.agent
      .request({ origin: url.origin, path: url.pathname + url.search, method: 'GET', headers })
      .catch((error: unknown) => {
        throw translateNetworkError(error, { address: url.origin, service: 'the token service' }) ?? error;
      });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new RegistryError(
        `${this.registry}: token request to ${url.origin}${url.pathname} answered ${res.statusCode}`,
        {
          status: res.statusCode,
          hint: hintFor(401, this.registry, credentials),
        },
      );
    }
    const bytes = await readAll(
      res.body,
      TOKEN_BODY_LIMIT,
      () =>
        new RegistryError(
          `${this.registry}: the token answer from ${url.origin} is larger than ${TOKEN_BODY_LIMIT} bytes`,
          { status: 200 },
        ),
    );
    // The answer holds the token: a parse error must not quote it.
    const parsed = untrustedJson(
      bytes,
      (problem) =>
        new RegistryError(`${this.registry}: the token answer from ${url.origin}${url.pathname} is ${problem}`, {
          status: 200,
        }),
    );
    const token = pickString(parsed, 'token') ?? pickString(parsed, 'access_token');
    if (token === undefined)
      throw new RegistryError(`${this.registry}: the token endpoint returned no token`, { status: res.statusCode });
    const expires =
      typeof parsed === 'object' && parsed !== null && 'expires_in' in parsed && typeof parsed.expires_in === 'number'
        ? parsed.expires_in
        : 60;
    return { token, expiresInSeconds: expires };
  }
}

function pickString(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null || !(key in value)) return undefined;
  const field: unknown = Object.getOwnPropertyDescriptor(value, key)?.value;
  return typeof field === 'string' && field !== '' ? field : undefined;
}

function hintFor(status: number, registry: string, credentials: RegistryCredentials | undefined): string | undefined {
  if (status === 401) {
    return credentials === undefined
      ? `log in first (podman login ${registry}), point DOCKER_CONFIG at a config.json with credentials, or for ECR run preflight mint-creds`
      : `the credentials from ${credentials.source} were rejected: log in again or mint fresh ones`;
  }
  if (status === 403)
    return 'the identity lacks a permission on this repository (for ECR: run preflight check --only ecr-permissions)';
  if (status === 404) return 'check the repository name; ECR repositories must exist before a push';
  if (status === 429)
    return `${registry} keeps asking preflight to slow down (429): try again later, or lower --concurrency`;
  if (status >= 500)
    return `${registry} is failing (HTTP ${status}) and kept failing through the retries: try again later, or check the registry's health and logs`;
  return undefined;
}

/**
 * Upload URLs carry session state (and on some registries signatures): keep them out of messages.
 * A URL on another origin keeps its host, since that is who answered.
 */
function redactPath(path: string, own: boolean): string {
  const url = new URL(path, 'http://x');
  const where = own ? url.pathname : `${url.protocol}//${url.host}${url.pathname}`;
  return url.search === '' ? where : `${where}?…`;
}

function isAbsoluteUrl(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(path);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Kept here for the upload session, which decides resume vs restart on it.
export { isNetworkError };

function isPlainHttpAnswer(error: unknown): boolean {
  const text = error instanceof Error ? `${'code' in error ? String(error.code) : ''} ${error.message}` : '';
  return /ERR_SSL_WRONG_VERSION_NUMBER|wrong version number|EPROTO|packet length too long/i.test(text);
}
