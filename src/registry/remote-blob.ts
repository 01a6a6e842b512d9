import { PassThrough, type Readable } from 'node:stream';
import type { BlobSource } from '../image/types.ts';
import { RegistryError } from './errors.ts';
import type { RegistryTransport } from './transport.ts';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A blob in a registry as a {@link BlobSource}: `open(offset)` GETs it with `Range: bytes=offset-`,
 * so a base image streams GET→PUT from one registry to another without touching disk, and a resumed
 * upload re-reads only from where it continues. Redirects to blob storage (ECR and S3, distribution
 * with a CDN) are followed without the registry's credentials.
 */
export function remoteBlob(transport: RegistryTransport, repository: string, descriptor: Descriptor, signal?: AbortSignal): BlobSource {
  return {
    digest: descriptor.digest,
    size: descriptor.size,
    mediaType: descriptor.mediaType,
    open(offset) {
      const out = new PassThrough({ highWaterMark: 4 * 2 ** 20 });
      // Nothing left to read: a Range starting at the end is unsatisfiable (416), so do not ask.
      if (offset >= descriptor.size) return out.end();
      fetchFrom(transport, repository, descriptor, offset, signal).then(
        (body) => {
          body.on('error', (error) => out.destroy(error));
          out.on('close', () => body.destroy());
          body.pipe(out);
        },
        (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
      );
      return out;
    },
  };
}

async function fetchFrom(transport: RegistryTransport, repository: string, descriptor: Descriptor, offset: number, signal: AbortSignal | undefined): Promise<Readable> {
  const path = `/v2/${repository}/blobs/${descriptor.digest}`;
  const range = offset > 0 ? { range: `bytes=${offset}-` } : {};
  const res = await transport.request({ method: 'GET', path, scope: `repository:${repository}:pull`, headers: range, long: true, ...(signal === undefined ? {} : { signal }) });
  const location = res.header('location');
  if (REDIRECTS.has(res.status) && location !== undefined) {
    await res.dump();
    return fromStorage(new URL(location, res.url), range, descriptor, offset, signal);
  }
  if (res.status !== 200 && res.status !== 206) throw transport.statusError({ method: 'GET', path }, res.status, await res.text());
  return sliceFrom(res.status, res.body, offset);
}

async function fromStorage(url: URL, range: Record<string, string>, descriptor: Descriptor, offset: number, signal: AbortSignal | undefined): Promise<Readable> {
  const { request } = await import('undici');
  const res = await request(url, { headers: range, ...(signal === undefined ? {} : { signal }) });
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    await res.body.dump();
    throw new RegistryError(`blob ${descriptor.digest}: storage redirect answered ${res.statusCode}`, { status: res.statusCode });
  }
  return sliceFrom(res.statusCode, res.body, offset);
}

/** A server that ignores Range answers 200 with the whole blob: skip to the offset ourselves. */
function sliceFrom(status: number, body: Readable, offset: number): Readable {
  if (status === 206 || offset === 0) return body;
  let skip = offset;
  const out = new PassThrough();
  body.on('data', (chunk: Buffer) => {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      return;
    }
    const piece = skip > 0 ? chunk.subarray(skip) : chunk;
    skip = 0;
    if (!out.write(piece)) {
      body.pause();
      out.once('drain', () => body.resume());
    }
  });
  body.on('end', () => out.end());
  body.on('error', (error) => out.destroy(error));
  out.on('close', () => body.destroy());
  return out;
}
