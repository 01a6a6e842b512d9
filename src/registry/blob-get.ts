import { sha256 } from '../util/sha256.ts';
import { RegistryError } from './errors.ts';
import type { RegistryResponse, RegistryTransport } from './transport.ts';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// ECR sends one hop to S3; a CDN in front of distribution one or two. More is a loop.
const MAX_HOPS = 5;

export interface BlobGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** A layer: no header/body timers (the caller's signal is the watchdog). */
  readonly long?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/**
 * GET a blob and follow the redirects registries answer with (ECR to S3, distribution to a CDN).
 * Every hop goes through the transport, which sends the registry's credentials to the registry's
 * own origin only (S3 refuses a request that carries them, and a rewritten redirect must not
 * harvest them) and refuses a downgrade to plain HTTP. The caller reads the final answer.
 */
export async function getBlob(
  transport: RegistryTransport,
  repository: string,
  digest: string,
  options: BlobGetOptions = {},
): Promise<RegistryResponse> {
  const request = (path: string): Promise<RegistryResponse> =>
    transport.request({
      method: 'GET',
      path,
      scope: `repository:${repository}:pull`,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.long === true ? { long: true } : {}),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  let res = await request(`/v2/${repository}/blobs/${digest}`);
  for (let hops = 0; REDIRECTS.has(res.status); hops += 1) {
    const location = res.header('location');
    if (location === undefined || location === '') break;
    await res.dump();
    if (hops === MAX_HOPS)
      throw new RegistryError(`${transport.registry}: blob ${digest} redirected more than ${MAX_HOPS} times`, {
        status: res.status,
        hint: 'the registry or its storage is misconfigured (a redirect loop)',
      });
    res = await request(new URL(location, res.url).href);
  }
  return res;
}

/**
 * A small blob (a config) read whole and verified against its digest, at most `limit` bytes: the one
 * verified read of a document from a registry (oras-go's content.FetchAll).
 */
export async function readBlob(
  transport: RegistryTransport,
  repository: string,
  digest: string,
  limit: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const res = await getBlob(transport, repository, digest, { signal });
  if (res.status !== 200) throw transport.statusError({ method: 'GET', path: res.url }, res.status, await res.text());
  const bytes = await res.bytes(limit);
  const actual = sha256(bytes);
  if (actual !== digest)
    throw new RegistryError(
      `${transport.registry}/${repository}: blob ${digest} was served with bytes that hash to ${actual}`,
      { status: res.status, hint: 'the registry (or something between) served corrupt content; try again' },
    );
  return bytes;
}
