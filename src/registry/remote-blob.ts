import { PassThrough, type Readable } from 'node:stream';
import type { BlobSource } from '../image/types.ts';
import { getBlob } from './blob-get.ts';
import type { RegistryTransport } from './transport.ts';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/**
 * A blob in a registry as a {@link BlobSource}: `open(offset)` GETs it with `Range: bytes=offset-`,
 * so a base image streams GET→PUT from one registry to another without touching disk, and a resumed
 * upload re-reads only from where it continues. Redirects to blob storage (ECR and S3, distribution
 * with a CDN) are followed without the registry's credentials (see {@link getBlob}).
 */
export function remoteBlob(
  transport: RegistryTransport,
  repository: string,
  descriptor: Descriptor,
  signal?: AbortSignal,
): BlobSource {
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

async function fetchFrom(
  transport: RegistryTransport,
  repository: string,
  descriptor: Descriptor,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<Readable> {
  const res = await getBlob(transport, repository, descriptor.digest, {
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    long: true,
    signal,
  });
  if (res.status !== 200 && res.status !== 206)
    throw transport.statusError({ method: 'GET', path: res.url }, res.status, await res.text());
  return sliceFrom(res.status, res.body, offset);
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
