import { NetworkError, TlsError } from '../errors.ts';

/** Who preflight was talking to, for the message: `registry 127.0.0.1:5000`, `Kubernetes API api.x:6443`. */
export interface Endpoint {
  /** `host:port` (or a URL, whose host and port are used). */
  readonly address: string;
  /** What runs there, for the hint: "the registry", "the Kubernetes API", "AWS STS". */
  readonly service: string;
  /** How to trust a CA for this endpoint; the registry's `--ca-file` unless the caller knows better. */
  readonly caHint?: string;
}

// Worth a retry: the connection failed, not the request.
const RETRYABLE = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'EAI_AGAIN',
]);

type Kind = 'refused' | 'reset' | 'dns' | 'timeout' | 'unreachable' | 'tls';

const KINDS: Readonly<Record<string, Kind>> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  EAI_FAIL: 'dns',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  CERT_NOT_YET_VALID: 'tls',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
};

const PROXY = 'HTTPS_PROXY / NO_PROXY';

/** Whether the connection failed (not the request), anywhere in the cause chain: worth a retry. */
export function isNetworkError(error: unknown): boolean {
  return causes(error).some((code) => RETRYABLE.has(code));
}

/**
 * A failed connection as one line naming the endpoint and the fix, or undefined when `error` is not
 * one. undici and the SDKs wrap the socket's error (`fetch failed` → cause → `connect ECONNREFUSED`,
 * and an AggregateError per address tried), so the whole cause chain is searched for a known code.
 */
export function translateNetworkError(error: unknown, endpoint: Endpoint): NetworkError | undefined {
  if (error instanceof NetworkError) return error;
  const found = causes(error).find((code) => KINDS[code] !== undefined);
  if (found === undefined) return undefined;
  const kind = KINDS[found];
  const where = hostPort(endpoint.address);
  const { service } = endpoint;
  const options = { cause: error };
  switch (kind) {
    case 'refused':
      return new NetworkError(`${where} refused the connection (${found})`, {
        ...options,
        hint: `is ${service} running there? check the host name and port`,
      });
    case 'reset':
      return new NetworkError(`${where} closed the connection (${found})`, {
        ...options,
        hint: `a proxy, firewall or load balancer between you and ${service} may cut connections: try again, or check ${PROXY}`,
      });
    case 'dns':
      return new NetworkError(`cannot resolve ${hostOf(where)} (${found})`, {
        ...options,
        hint: `check the host name; if ${service} is on a private network, connect the VPN, or check the DNS and proxy settings (${PROXY})`,
      });
    case 'timeout':
      return new NetworkError(`${where} did not answer in time (${found})`, {
        ...options,
        hint: `check that ${service} is up and reachable: VPN, firewall and proxy settings (${PROXY})`,
      });
    case 'unreachable':
      return new NetworkError(`${where} cannot be reached (${found})`, {
        ...options,
        hint: `no route to ${service}: connect the VPN, or check the network and proxy settings (${PROXY})`,
      });
    default:
      return tlsError(found, where, endpoint, error);
  }
}

function tlsError(code: string, where: string, endpoint: Endpoint, cause: unknown): TlsError {
  const trust =
    endpoint.caHint ?? 'pass its CA with --ca-file CA.pem, or set NODE_EXTRA_CA_CERTS=CA.pem (a PEM file with the CA)';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return new TlsError(`the TLS certificate of ${where} is not valid now (${code})`, {
      cause,
      hint: `the server's certificate has expired (or the clock here is wrong): renew it, or fix the clock`,
    });
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new TlsError(`the TLS certificate of ${where} is for another host name (${code})`, {
      cause,
      hint: `use the host name the certificate was issued for, or reissue it with ${hostOf(where)} in its names`,
    });
  return new TlsError(`the TLS certificate of ${where} is not trusted (${code})`, { cause, hint: trust });
}

/** Every `code` in the chain: `cause` links and an AggregateError's `errors`, bounded against cycles. */
function causes(error: unknown): string[] {
  const codes: string[] = [];
  const queue: unknown[] = [error];
  for (let seen = 0; queue.length > 0 && seen < 20; seen += 1) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null) continue;
    if ('code' in current && typeof current.code === 'string') codes.push(current.code);
    if ('cause' in current) queue.push(current.cause);
    if (current instanceof AggregateError) {
      const inner: unknown[] = current.errors;
      queue.push(...inner);
    }
  }
  return codes;
}

/** `https://h:6443/x` → `h:6443`; `h:5000` stays; a bare host stays. */
function hostPort(address: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return address;
  const url = new URL(address);
  return url.port === '' ? `${url.hostname}:${url.protocol === 'http:' ? 80 : 443}` : url.host;
}

function hostOf(where: string): string {
  return where.startsWith('[') ? where.slice(0, where.indexOf(']') + 1) : (where.split(':')[0] ?? where);
}
