import type { ImagePlatforms, Logger } from '../context/types.ts';
import { createTransport } from './client.ts';
import { readBlob } from './blob-get.ts';
import { RegistryError } from './errors.ts';
import { MAX_MANIFEST_BYTES, MEDIA_TYPES, getManifest, registryJson } from './manifest.ts';
import { formatReference, parseReference } from './reference.ts';
import { packageVersion } from '../version.ts';

export interface InspectOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly insecureRegistries?: readonly string[];
  readonly caFile?: string;
}

/**
 * The platforms a registry image offers, from its index, or from the config of a single manifest.
 * Reads a few KiB: the manifest and at most one config blob, never a layer.
 */
export async function registryPlatforms(image: string, options: InspectOptions): Promise<ImagePlatforms> {
  const ref = parseReference(image);
  const transport = await createTransport(ref.registry, {
    env: options.env,
    insecureRegistries: options.insecureRegistries ?? [],
    caFile: options.caFile,
    log: options.log,
    userAgent: `preflight/${packageVersion()}`,
  });
  try {
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const manifest = await getManifest(transport, ref.repository, reference, options.signal);
    if (manifest === undefined) {
      throw new RegistryError(`${formatReference(ref)}: no such image (manifest unknown)`, {
        status: 404,
        hint: 'check the repository and tag, and that the image was pushed',
      });
    }
    const parsed = registryJson(manifest.bytes, `${formatReference(ref)}: the manifest`);
    if (manifest.mediaType === MEDIA_TYPES.ociIndex || manifest.mediaType === MEDIA_TYPES.dockerList) {
      return { image, digest: manifest.digest, kind: 'index', platforms: indexPlatforms(parsed) };
    }
    const configDigest = configDescriptorDigest(parsed);
    const config =
      configDigest === undefined
        ? undefined
        : await readBlob(transport, ref.repository, configDigest, MAX_MANIFEST_BYTES, options.signal);
    const platform =
      config === undefined
        ? undefined
        : platformOf(registryJson(config, `${formatReference(ref)}: the config ${configDigest}`));
    return { image, digest: manifest.digest, kind: 'manifest', platforms: platform === undefined ? [] : [platform] };
  } finally {
    await transport.close();
  }
}

/** `os/arch[/variant]` from an object with `os`, `architecture` and maybe `variant` (index entries, configs). */
export function platformOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (name: string): string | undefined =>
    name in value ? stringOrUndefined(Reflect.get(value, name)) : undefined;
  const os = field('os');
  const arch = field('architecture');
  if (os === undefined || arch === undefined) return undefined;
  const variant = field('variant');
  return variant === undefined ? `${os}/${arch}` : `${os}/${arch}/${variant}`;
}

function indexPlatforms(index: unknown): string[] {
  const manifests: unknown = typeof index === 'object' && index !== null && 'manifests' in index ? index.manifests : [];
  const platforms: string[] = [];
  for (const entry of Array.isArray(manifests) ? manifests.map((m: unknown) => m) : []) {
    const platform =
      typeof entry === 'object' && entry !== null && 'platform' in entry ? platformOf(entry.platform) : undefined;
    // Attestation manifests (buildkit) claim unknown/unknown: not a runnable platform.
    if (platform !== undefined && !platform.startsWith('unknown/')) platforms.push(platform);
  }
  return platforms;
}

function configDescriptorDigest(manifest: unknown): string | undefined {
  if (typeof manifest !== 'object' || manifest === null || !('config' in manifest)) return undefined;
  const config: unknown = manifest.config;
  return typeof config === 'object' && config !== null && 'digest' in config
    ? stringOrUndefined(config.digest)
    : undefined;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
