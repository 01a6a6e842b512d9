import { sha256 } from '../util/sha256.ts';
import { untrustedJson } from '../util/json.ts';
import { RegistryError } from './errors.ts';
import type { RegistryTransport } from './transport.ts';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

/** Accept every manifest kind we understand, so the registry never converts (which changes digests). */
export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

/** Registries (and ECR) refuse larger manifests; refusing first gives a clearer error. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface FetchedManifest {
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly digest: string;
}

/** GET a manifest by tag or digest; verifies the digest when fetched by digest. */
export async function getManifest(
  transport: RegistryTransport,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<FetchedManifest | undefined> {
  const res = await transport.request({
    method: 'GET',
    path: `/v2/${repository}/manifests/${reference}`,
    scope: `repository:${repository}:pull`,
    headers: { accept: MANIFEST_ACCEPT },
    ...(signal === undefined ? {} : { signal }),
  });
  if (res.status === 404) {
    await res.dump();
    return undefined;
  }
  if (res.status !== 200)
    throw transport.statusError(
      { method: 'GET', path: `/v2/${repository}/manifests/${reference}` },
      res.status,
      await res.text(),
    );
  const bytes = await res.bytes(MAX_MANIFEST_BYTES);
  const digest = sha256(bytes);
  if (reference.startsWith('sha256:') && reference !== digest) {
    throw new RegistryError(
      `${transport.registry}/${repository}@${reference}: the manifest served hashes to ${digest}`,
      { status: 200 },
    );
  }
  const mediaType = (res.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
  return {
    mediaType: mediaType === '' ? mediaTypeOf(bytes, `${transport.registry}/${repository}:${reference}`) : mediaType,
    bytes,
    digest,
  };
}

/** PUT a manifest under `reference` (tag or digest); returns the digest the registry confirmed. */
export async function putManifest(
  transport: RegistryTransport,
  repository: string,
  reference: string,
  manifest: { mediaType: string; bytes: Buffer },
  signal?: AbortSignal,
): Promise<string> {
  const digest = sha256(manifest.bytes);
  if (manifest.bytes.length > MAX_MANIFEST_BYTES) {
    throw new RegistryError(
      `manifest ${digest} is ${manifest.bytes.length} bytes; registries accept at most ${MAX_MANIFEST_BYTES}`,
      {
        status: 0,
        hint: 'reduce the number of layers or annotations',
      },
    );
  }
  const path = `/v2/${repository}/manifests/${reference}`;
  const res = await transport.request({
    method: 'PUT',
    path,
    scope: `repository:${repository}:pull,push`,
    headers: { 'content-type': manifest.mediaType, 'content-length': String(manifest.bytes.length) },
    body: () => manifest.bytes,
    retry: true,
    ...(signal === undefined ? {} : { signal }),
  });
  if (res.status !== 201 && res.status !== 200)
    throw transport.statusError({ method: 'PUT', path }, res.status, await res.text());
  await res.dump();
  const confirmed = res.header('docker-content-digest');
  if (confirmed !== undefined && confirmed !== digest) {
    throw new RegistryError(`${transport.registry} stored manifest ${confirmed}, expected ${digest}`, {
      status: res.status,
    });
  }
  return digest;
}

/** The `mediaType` field of a manifest, for registries that answer without a Content-Type. */
function mediaTypeOf(bytes: Buffer, name: string): string {
  const parsed = registryJson(bytes, `${name}: the manifest`);
  if (typeof parsed === 'object' && parsed !== null && 'mediaType' in parsed && typeof parsed.mediaType === 'string')
    return parsed.mediaType;
  return typeof parsed === 'object' && parsed !== null && 'manifests' in parsed
    ? MEDIA_TYPES.ociIndex
    : MEDIA_TYPES.ociManifest;
}

/** A JSON document a registry served (manifest, config); a parse error names it and the position, never its text. */
export function registryJson(bytes: Buffer, what: string): unknown {
  return untrustedJson(
    bytes,
    (problem) =>
      new RegistryError(`${what} is ${problem}`, {
        status: 200,
        hint: 'the registry served a damaged document; push the image again',
      }),
  );
}
