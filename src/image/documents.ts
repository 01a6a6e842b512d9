import * as v from 'valibot';
import { UsageError } from '../errors.ts';
import { untrustedJson } from '../util/json.ts';
import { readAll } from '../util/read-all.ts';
import { sha256 } from '../util/sha256.ts';
import type { BlobStore } from './layout.ts';
import { type Descriptor, firstIssue } from './schemas.ts';

// The small JSON documents of a source (manifests, indexes, configs, index.json): read bounded,
// verified against their descriptors, parsed with errors that name the document, never quote it.

/** Read a small blob whole (at most `limit` bytes) and check it against its descriptor. */
export async function readVerified(store: BlobStore, descriptor: Descriptor, limit: number): Promise<Buffer> {
  const { description } = store;
  if (descriptor.size > limit)
    throw new UsageError(
      `${description}: ${descriptor.mediaType} ${descriptor.digest} is ${descriptor.size} bytes, above the limit of ${limit}`,
      { hint: 'a manifest, index or config is a small JSON document; this image is damaged' },
    );
  const stored = await store.blob(descriptor.digest);
  if (stored === undefined)
    throw new UsageError(`${description} is missing blob ${descriptor.digest}`, {
      hint: 'the layout is incomplete; export the image again',
    });
  const damaged = (what: string): UsageError =>
    new UsageError(`${description}: blob ${descriptor.digest} is damaged (${what})`, {
      hint: 'export the image again',
    });
  if (stored.size !== descriptor.size) throw damaged(`${stored.size} bytes, the descriptor says ${descriptor.size}`);
  const bytes = await readAll(stored.open(0), descriptor.size, () =>
    damaged(`more than the ${descriptor.size} bytes the descriptor says`),
  );
  const digest = sha256(bytes);
  if (digest !== descriptor.digest || bytes.length !== descriptor.size) throw damaged(`its bytes hash to ${digest}`);
  return bytes;
}

/** Parse and check a JSON document someone else wrote; `what` names it in the one-line error, which never quotes it. */
export function parseJson<T>(schema: v.GenericSchema<unknown, T>, bytes: Buffer, what: string): T {
  return checkJson(
    schema,
    untrustedJson(bytes, (problem) => new UsageError(`${what} is ${problem}`)),
    what,
  );
}

export function checkJson<T>(schema: v.GenericSchema<unknown, T>, value: unknown, what: string): T {
  const result = v.safeParse(schema, value);
  if (!result.success) throw new UsageError(`${what}: ${firstIssue(result.issues)}`);
  return result.output;
}

export function platformString(p: { os: string; architecture: string; variant?: string | undefined }): string {
  return p.variant === undefined ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`;
}
