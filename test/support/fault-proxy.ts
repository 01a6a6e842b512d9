import { once } from 'node:events';
import {
  Agent as HttpAgent,
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream';

/** What the proxy does to a request a fault rule matched. */
export type Fault =
  | { readonly kind: 'drop'; readonly afterBytes: number }
  | { readonly kind: 'cut'; readonly afterBytes: number }
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
    }
  | { readonly kind: 'rewrite'; readonly rewrite: ResponseRewrite }
  | { readonly kind: 'hold'; readonly afterBytes: number; readonly onHold: () => void };

export interface ProxiedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
}

export type ResponseRewrite = (
  response: ProxiedResponse,
  request: { readonly method: string; readonly path: string },
) => ProxiedResponse;

/**
 * Forward `bytes` of the request body upstream, then destroy the client socket and abort the upstream
 * request. Use fewer bytes than the body holds: a body that ends first passes through whole (the rule
 * still counts it as fired), and one of exactly `bytes` races the registry's answer.
 */
export function dropAfterBytes(bytes: number): Fault {
  return { kind: 'drop', afterBytes: bytes };
}

/**
 * Read `bytes` of the request body from the client, then destroy its socket without ever contacting
 * the registry: a connection lost on the way, where the registry holds nothing of the cut request
 * (as ECR does with a partial part). Unlike `drop`, the upload session stays valid for a resume.
 */
export function cutAfterBytes(bytes: number): Fault {
  return { kind: 'cut', afterBytes: bytes };
}

/** Answer without contacting the registry (the request body is read and discarded first, as a server would). */
export function respond(status: number, headers: Readonly<Record<string, string>> = {}, body = ''): Fault {
  return { kind: 'respond', status, headers, body };
}

/** Forward, then change the status and headers before the client sees them; the body streams through untouched. */
export function rewriteResponse(rewrite: ResponseRewrite): Fault {
  return { kind: 'rewrite', rewrite };
}

/**
 * Read `bytes` of the request body (0: none, e.g. a GET), then hold the request: nothing is
 * forwarded or answered, and the body stops being read, until the client gives up. `onHold` is
 * called when that point is reached: the server-side event a test acts on ("the upload is under
 * way") instead of a sleep. A body shorter than `bytes` is held when it ends.
 */
export function holdAfterBytes(bytes: number, onHold: () => void): Fault {
  return { kind: 'hold', afterBytes: bytes, onHold };
}

/** ECR's answer to a part that does not start where the upload is, e.g. "First byte of the layer part is 0 instead of 5242880". */
export function status416(message: string): Fault {
  return respond(
    416,
    { 'content-type': 'application/json' },
    JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message }] }),
  );
}

export interface FaultMatch {
  /** Any method when omitted. */
  readonly method?: string;
  /** Tested against the path with its query string. */
  readonly path: RegExp;
  /** The first matching request (1-based) the fault fires on; 1 when omitted. */
  readonly occurrence?: number;
  /** How many consecutive matching requests it fires on before passing through; 1 when omitted. */
  readonly times?: number;
}

export interface FaultRule {
  readonly match: FaultMatch;
  readonly fault: Fault;
  /** Matching requests seen so far. */
  readonly seen: number;
  /** Requests the fault was applied to. */
  readonly fired: number;
}

export interface ProxyLogEntry {
  readonly method: string;
  readonly path: string;
  /** The status the client got; undefined while in flight or when the connection was dropped. */
  readonly status: number | undefined;
  /** The request's Content-Range header. */
  readonly contentRange: string | undefined;
  /** The Range header of the response the client got. */
  readonly range: string | undefined;
  readonly fault: Fault['kind'] | undefined;
  /** Request-body bytes forwarded upstream for this request. */
  readonly bytesForwarded: number;
  /** The scheme of the Authorization header the client sent (`Basic`, `Bearer`), never its credentials; undefined when it sent none. */
  readonly authorization: string | undefined;
}

export interface FaultProxyOptions {
  /** PEM of a CA to trust for an https upstream. */
  readonly ca?: string;
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /**
   * Headers added to every request sent upstream, e.g. the registry's Authorization: a stand-in for
   * a presigned URL, so a client can use this proxy as "another origin" without its own credentials.
   */
  readonly upstreamHeaders?: Readonly<Record<string, string>>;
}

type MutableRule = { -readonly [K in keyof FaultRule]: FaultRule[K] };
type MutableEntry = { -readonly [K in keyof ProxyLogEntry]: ProxyLogEntry[K] };

// expect: the proxy's own server already answered 100-continue to the client.
const HOP_BY_HOP = new Set([
  'expect',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * A streaming reverse proxy on 127.0.0.1 in front of a registry, with faults injected per request.
 * Bodies are piped, never buffered, so a test can watch bytes arrive upstream as they are sent.
 */
export class FaultProxy {
  readonly url: string;
  readonly host: string;
  readonly #server: Server;
  readonly #upstream: URL;
  readonly #agent: HttpAgent;
  readonly #rules: MutableRule[] = [];
  readonly #log: MutableEntry[] = [];
  readonly #inFlight = new Set<ClientRequest>();
  readonly #upstreamHeaders: Readonly<Record<string, string>>;
  #bytesForwarded = 0;
  #connections = 0;
  #closed: Promise<void> | undefined;

  private constructor(server: Server, port: number, upstream: URL, options: FaultProxyOptions) {
    this.#server = server;
    this.#upstream = upstream;
    this.#upstreamHeaders = options.upstreamHeaders ?? {};
    this.host = `127.0.0.1:${port}`;
    this.url = `${options.tls === undefined ? 'http' : 'https'}://${this.host}`;
    const { ca } = options;
    this.#agent =
      upstream.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, ...(ca !== undefined && { ca }) })
        : new HttpAgent({ keepAlive: true });
    server.on('connection', () => {
      this.#connections += 1;
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // A client that vanishes while a canned answer waits for its body: nothing left to answer.
      this.#handle(req, res).catch(() => req.socket.destroy());
    });
  }

  /** Listen on a free 127.0.0.1 port in front of `upstream` (an http or https URL; `ca` to trust the latter). */
  static async start(upstream: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    const server =
      options.tls === undefined ? createServer() : createHttpsServer({ cert: options.tls.cert, key: options.tls.key });
    // node closes a connection idle for 5 s and tells undici so, which then gives up on it after 3 s:
    // on a busy machine a pause between two requests of one client would then open a new connection,
    // and a test that counts connections would count the machine's load. close() cuts them all anyway.
    server.keepAliveTimeout = 10 * 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error(`unexpected proxy address ${String(address)}`);
    return new FaultProxy(server, address.port, new URL(upstream), options);
  }

  /** Add a fault; rules are tried in the order they were added and the first one in its firing window wins. */
  inject(match: FaultMatch, fault: Fault): FaultRule {
    const rule: MutableRule = { match, fault, seen: 0, fired: 0 };
    this.#rules.push(rule);
    return rule;
  }

  /** Total request-body bytes forwarded upstream. */
  get bytesForwarded(): number {
    return this.#bytesForwarded;
  }

  /** TCP connections clients opened to the proxy: what keep-alive should keep low. */
  get connections(): number {
    return this.#connections;
  }

  get log(): readonly ProxyLogEntry[] {
    return this.#log;
  }

  /** Requests received with this method (any when undefined) whose path matches `path`. */
  count(method: string | undefined, path: RegExp): number {
    return this.#log.filter((entry) => (method === undefined || entry.method === method) && path.test(entry.path))
      .length;
  }

  /** Forget faults, counters and the log, so one proxy can serve several tests. */
  reset(): void {
    this.#rules.length = 0;
    this.#log.length = 0;
    this.#bytesForwarded = 0;
    this.#connections = 0;
  }

  /** Stop listening and cut every connection, in flight or idle; safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    for (const upstream of this.#inFlight) upstream.destroy();
    const closed = once(this.#server, 'close');
    this.#server.close();
    this.#server.closeAllConnections();
    await closed;
    this.#agent.destroy();
  }

  #pick(method: string, path: string): MutableRule | undefined {
    let chosen: MutableRule | undefined;
    for (const rule of this.#rules) {
      if ((rule.match.method !== undefined && rule.match.method !== method) || !rule.match.path.test(path)) continue;
      rule.seen += 1;
      const first = rule.match.occurrence ?? 1;
      if (chosen === undefined && rule.seen >= first && rule.seen < first + (rule.match.times ?? 1)) chosen = rule;
    }
    if (chosen) chosen.fired += 1;
    return chosen;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const rule = this.#pick(method, path);
    const authorization = header(req.headers, 'authorization')?.split(' ')[0];
    const entry: MutableEntry = {
      method,
      path,
      status: undefined,
      contentRange: header(req.headers, 'content-range'),
      range: undefined,
      fault: rule?.fault.kind,
      bytesForwarded: 0,
      authorization,
    };
    this.#log.push(entry);
    const fault = rule?.fault;

    if (fault?.kind === 'respond') {
      req.resume();
      await once(req, 'end');
      const headers = lowerCaseKeys(fault.headers);
      res.writeHead(fault.status, { 'content-length': Buffer.byteLength(fault.body), ...headers });
      res.end(fault.body);
      entry.status = fault.status;
      entry.range = header(headers, 'range');
      return;
    }
    if (fault?.kind === 'cut') {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= fault.afterBytes) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    if (fault?.kind === 'hold') {
      let received = 0;
      let held = false;
      const hold = (): void => {
        if (held) return;
        held = true;
        req.pause();
        fault.onHold();
      };
      if (fault.afterBytes === 0) {
        hold();
        return;
      }
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= fault.afterBytes) hold();
      });
      req.on('end', hold);
      return;
    }
    if (fault?.kind === 'drop' && fault.afterBytes === 0) {
      req.socket.destroy();
      return;
    }

    const upstream = (this.#upstream.protocol === 'https:' ? httpsRequest : httpRequest)(
      new URL(path, this.#upstream),
      {
        method,
        agent: this.#agent,
        headers: { ...forwardable(req.headers), ...this.#upstreamHeaders, host: this.#upstream.host },
      },
    );
    this.#inFlight.add(upstream);
    // A registry may answer before it has read the body (ECR's 416 for a part that starts at the wrong
    // byte) and close its side. The rest of the client's body then has nowhere to go: it is read and
    // dropped, as a gateway does, so the client's connection stays usable. Waiting for a 'drain' that
    // never comes would leave it paused, and the client's next request on it would hang.
    let upstreamDone = false;
    upstream.on('close', () => {
      this.#inFlight.delete(upstream);
      if (req.complete) return;
      upstreamDone = true;
      req.resume();
    });
    // A client that goes away mid-request must not leave the registry waiting for the rest of the body.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.on('error', (error) => upstream.destroy(error));
    upstream.on('error', (error) => {
      if (res.headersSent || req.socket.destroyed) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: upstream failed: ${error.message}`);
      entry.status = 502;
    });
    upstream.on('response', (upstreamRes) => {
      let response: ProxiedResponse = {
        status: upstreamRes.statusCode ?? 502,
        headers: this.#rewriteLocation(forwardable(upstreamRes.headers)),
      };
      if (fault?.kind === 'rewrite') response = fault.rewrite(response, { method, path });
      const headers = lowerCaseKeys(response.headers);
      entry.status = response.status;
      entry.range = header(headers, 'range');
      res.writeHead(response.status, toOutgoing(headers));
      pipeline(upstreamRes, res, (error) => {
        // The registry died mid-response: the client must see a broken connection, not a short body.
        if (error) req.socket.destroy();
      });
    });

    const limit = fault?.kind === 'drop' ? fault.afterBytes : Infinity;
    let dropping = false;
    req.on('data', (chunk: Buffer) => {
      if (dropping || upstreamDone) return;
      const part =
        chunk.length > limit - entry.bytesForwarded ? chunk.subarray(0, limit - entry.bytesForwarded) : chunk;
      entry.bytesForwarded += part.length;
      this.#bytesForwarded += part.length;
      if (entry.bytesForwarded >= limit) {
        dropping = true;
        req.pause();
        // Drop only once the bytes are handed to the upstream socket, so the registry really got them.
        upstream.write(part, () => {
          req.socket.destroy();
          upstream.destroy();
        });
        return;
      }
      if (!upstream.write(part)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (!dropping && !upstreamDone) upstream.end();
    });
  }

  #rewriteLocation(headers: Record<string, string | readonly string[]>): Record<string, string | readonly string[]> {
    const location = headers.location;
    if (typeof location !== 'string') return headers;
    const target = new URL(location, this.#upstream);
    if (target.origin !== this.#upstream.origin) return headers;
    return { ...headers, location: `${this.url}${target.pathname}${target.search}` };
  }
}

/** Start a proxy in front of a registry URL. */
export function startFaultProxy(upstream: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  return FaultProxy.start(upstream, options);
}

function forwardable(headers: IncomingHttpHeaders): Record<string, string | readonly string[]> {
  const out: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'host') out[name] = value;
  }
  return out;
}

function lowerCaseKeys<T>(headers: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function toOutgoing(headers: Readonly<Record<string, string | readonly string[]>>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) out[name] = typeof value === 'string' ? value : [...value];
  return out;
}

function header(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value?.join(', ');
}
