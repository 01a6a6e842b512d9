import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from '../../src/registry/client.ts';
import type { RegistryTransport } from '../../src/registry/transport.ts';
import { type RegistryHandle, registryCredentialsArgs, skopeo } from './registry.ts';
import { testdir } from './testdir.ts';

export interface TestLog {
  readonly lines: string[];
  debug(message: string): void;
}

export function testLog(): TestLog {
  const lines: string[] = [];
  return { lines, debug: (message) => void lines.push(message) };
}

/**
 * A transport to `host` whose credentials come from a DOCKER_CONFIG written for the test, the way a
 * user's would: `auths` keyed by the host the client talks to (a proxy's, when there is one).
 */
export async function testTransport(
  host: string,
  registry: RegistryHandle,
  log: TestLog = testLog(),
): Promise<RegistryTransport> {
  const dockerConfig = await testdir();
  if (registry.username !== undefined && registry.password !== undefined) {
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [host]: { auth } } }), {
      mode: 0o600,
    });
  }
  return createTransport(host, {
    env: { DOCKER_CONFIG: dockerConfig },
    insecureRegistries: [],
    caFile: registry.caFile,
    log,
    userAgent: 'preflight-test',
  });
}

function tlsArgs(registry: RegistryHandle, flag: string): string[] {
  return registry.caFile === undefined ? [`${flag}=false`] : [`${flag}=true`];
}

/** `skopeo inspect --raw`: the manifest bytes the registry serves for `ref`. */
export async function inspectRaw(registry: RegistryHandle, ref: string): Promise<string> {
  const certDir = await certDirFor(registry);
  const args = [
    'inspect',
    '--raw',
    '--retry-times',
    '0',
    ...tlsArgs(registry, '--tls-verify'),
    ...certDir('--cert-dir'),
    ...registryCredentialsArgs(registry),
  ];
  const result = await skopeo([...args, `docker://${registry.host}/${ref}`]);
  if (result.code !== 0) throw new Error(`skopeo inspect ${ref} failed: ${result.stderr}`);
  return result.stdout;
}

/** Pull `ref` back with `skopeo copy` into an OCI layout, byte for byte (skopeo would otherwise gzip uncompressed layers); returns a reader of its blobs by digest. */
export async function pullBack(registry: RegistryHandle, ref: string): Promise<(digest: string) => Promise<Buffer>> {
  const dir = await testdir({}, { fsyncFree: true });
  const certDir = await certDirFor(registry);
  const args = [
    'copy',
    '--retry-times',
    '0',
    '--preserve-digests',
    '--dest-oci-accept-uncompressed-layers',
    ...tlsArgs(registry, '--src-tls-verify'),
    ...certDir('--src-cert-dir'),
    ...registryCredentialsArgs(registry, '--src-creds'),
  ];
  const result = await skopeo([...args, `docker://${registry.host}/${ref}`, `oci:${dir}:pulled`]);
  if (result.code !== 0) throw new Error(`skopeo copy ${ref} failed: ${result.stderr}`);
  return (digest) => readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
}

// skopeo trusts extra CAs from a directory of *.crt files.
async function certDirFor(registry: RegistryHandle): Promise<(flag: string) => string[]> {
  if (registry.caFile === undefined) return () => [];
  const dir = await testdir();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ca.crt'), await readFile(registry.caFile));
  return (flag) => [flag, dir];
}
