import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsState } from '../aws/state.ts';
import { answer, registryError, send } from './answers.ts';
import { authenticate, targetOf } from './auth.ts';
import { LayerUrls, ecrStorageHost } from './blobs.ts';
import { routeRequest } from './routes.ts';
import { ECR_LIMITS, type EcrLimits } from './rules.ts';
import { BlobStore } from './store.ts';
import type { UploadSession } from './uploads.ts';

/** An OCI distribution registry that behaves like ECR's `<account>.dkr.ecr.<region>.amazonaws.com`. */
export interface EcrRegistry {
  /** Serve one registry request (HTTP or HTTPS server). Account from the Host `<account>.dkr.ecr.<region>.amazonaws.com`, else options.defaultAccount. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Serve one request to the storage origin the blob GETs redirect to (S3's presigned layer URLs). */
  handleStorage(req: IncomingMessage, res: ServerResponse): void;
  /** What the registry saw, for assertions. */
  readonly log: EcrRegistryLog;
  close(): Promise<void>;
}

export interface EcrRegistryLog {
  /** Every PATCH/PUT body part that arrived whole: upload id, start offset, length, status answered. */
  readonly parts: {
    upload: string;
    repository: string;
    start: number;
    length: number;
    status: number;
    streamed: boolean;
  }[];
  /** Completed uploads: digest, size, number of parts. */
  readonly blobs: { repository: string; digest: string; size: number; parts: number }[];
  readonly manifests: { repository: string; reference: string; digest: string; layers: number; status: number }[];
  /** Every request: method, path (no query), status (undefined when the connection was cut), authorization header present? */
  readonly requests: { method: string; path: string; status: number | undefined; authorized: boolean }[];
}

export interface EcrRegistryOptions {
  readonly state: AwsState;
  readonly dir: string;
  readonly region?: string;
  readonly defaultAccount?: string;
  /**
   * Override ECR's quotas. Only for the test that pushes 4,201 parts, which cannot afford 5 MiB each:
   * everything else must run against the real numbers in `ECR_LIMITS`.
   */
  readonly limits?: Partial<EcrLimits>;
  /** Where blob GETs redirect to; by default ECR's S3 host of the region (https), which the caller must route to `handleStorage`. */
  readonly storageOrigin?: string;
}

/** The registry as a request handler; the caller owns the server (HTTP or HTTPS, requestTimeout 0 for huge layers). */
export function createEcrRegistry(options: EcrRegistryOptions): EcrRegistry {
  const log: EcrRegistryLog = { parts: [], blobs: [], manifests: [], requests: [] };
  const sessions = new Map<string, UploadSession>();
  const ctx = {
    state: options.state,
    store: new BlobStore(options.dir),
    limits: { ...ECR_LIMITS, ...options.limits },
    sessions,
    log,
    layers: new LayerUrls(),
    storageOrigin: options.storageOrigin ?? `https://${ecrStorageHost(options.region ?? 'eu-west-1')}`,
  };
  const defaults = { account: options.defaultAccount, region: options.region ?? 'eu-west-1' };
  const track = (
    req: IncomingMessage,
    res: ServerResponse,
    serving: (req: IncomingMessage, res: ServerResponse) => Promise<number | undefined>,
  ): void => {
    const entry: EcrRegistryLog['requests'][number] = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      status: undefined,
      authorized: req.headers.authorization !== undefined,
    };
    log.requests.push(entry);
    // A request or response stream error (a client gone mid-body) is handled where it is read; these
    // listeners only keep it from becoming an uncaught exception.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    void serving(req, res)
      .then((status) => {
        entry.status = status;
      })
      .catch((error: unknown) => {
        entry.status = fail(req, res, error);
      });
  };
  return {
    log,
    handle: (req, res) => {
      track(req, res, serve);
    },
    handleStorage: (req, res) => {
      track(req, res, serveStorage);
    },
    close: async () => {
      await Promise.all([...sessions.values()].map((session) => session.close()));
      sessions.clear();
    },
  };

  function serveStorage(req: IncomingMessage, res: ServerResponse): Promise<number | undefined> {
    const url = new URL(req.url ?? '/', 'http://storage.invalid');
    const reply =
      req.method === 'GET' || req.method === 'HEAD'
        ? ctx.layers.serve(ctx.store, req, url, ctx.state.now())
        : answer(405);
    return Promise.resolve(send(req, res, reply, true));
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<number | undefined> {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const target = targetOf(req, defaults);
    if (target === undefined)
      return send(
        req,
        res,
        registryError(400, 'UNSUPPORTED', `${req.headers.host ?? 'no host'} is not an ECR registry host`),
        true,
      );
    const caller = authenticate(ctx.state, req, target);
    if ('kind' in caller) return send(req, res, caller, true);
    const reply = await routeRequest(ctx, req, url, target, caller);
    return send(req, res, reply.answer, reply.bodyUnread);
  }
}

/** Anything unexpected while serving one request is that request's 400, never the process's crash. */
function fail(req: IncomingMessage, res: ServerResponse, error: unknown): number | undefined {
  if (res.headersSent) {
    res.destroy();
    return undefined;
  }
  return send(
    req,
    res,
    registryError(
      400,
      'UNSUPPORTED',
      `the registry could not serve this request: ${error instanceof Error ? error.message : String(error)}`,
    ),
    true,
  );
}

/**
 * For in-process tests: the registry on 127.0.0.1:<free port>, plain HTTP, and its storage (the S3
 * stand-in that blob GETs redirect to) on another port: another origin, as S3 is for ECR.
 */
export async function startEcrRegistry(options: {
  state: AwsState;
  dir?: string;
  region?: string;
  account: string;
  limits?: Partial<EcrLimits>;
}): Promise<{ host: string; url: string; storageUrl: string; registry: EcrRegistry; close(): Promise<void> }> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'ecr-registry-')));
  // The storage origin must exist before the registry that names it: its handler finds the registry later.
  const late: { registry?: EcrRegistry } = {};
  const storage = await listen((req, res) => late.registry?.handleStorage(req, res));
  const registry = createEcrRegistry({
    state: options.state,
    dir,
    defaultAccount: options.account,
    storageOrigin: storage.url,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  late.registry = registry;
  const api = await listen((req, res) => {
    registry.handle(req, res);
  });
  return {
    host: api.host,
    url: api.url,
    storageUrl: storage.url,
    registry,
    close: async () => {
      await Promise.all([api.close(), storage.close()]);
      await registry.close();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ host: string; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  // A 45 GiB streamed layer takes longer than node's default 5 minute request timeout.
  server.requestTimeout = 0;
  server.on('clientError', (_error, socket) => socket.destroy());
  // Listener errors after `listening` (a socket failing under load) must not take the test process down.
  server.on('error', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  const host = `127.0.0.1:${address.port}`;
  return {
    host,
    url: `http://${host}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
