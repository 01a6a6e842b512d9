import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';

/**
 * Every regular file of an image's layers, by path, read back from the ECR double the way a client
 * must read ECR: the blob GET answers 307 to storage, which is fetched without the registry's
 * Authorization (storage refuses a request carrying it, as S3 does with presigned URLs). Each blob is
 * checked against its digest. For tests and the ECR benchmark; `storageUrl` stands in for the S3
 * origin the redirects name (the test process cannot resolve S3's host name).
 */
export async function imageFiles(
  url: string,
  storageUrl: string,
  password: string,
  repository: string,
  tag: string,
): Promise<Map<string, Buffer>> {
  const authorization = `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;
  const manifest: unknown = await (
    await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
      headers: { authorization, accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
  ).json();
  const layers: unknown =
    typeof manifest === 'object' && manifest !== null && 'layers' in manifest ? manifest.layers : [];
  const files = new Map<string, Buffer>();
  for (const layer of Array.isArray(layers) ? layers.map((l: unknown) => l) : []) {
    const digest = typeof layer === 'object' && layer !== null && 'digest' in layer ? String(layer.digest) : '';
    const redirect = await fetch(`${url}/v2/${repository}/blobs/${digest}`, {
      headers: { authorization },
      redirect: 'manual',
    });
    const location = redirect.headers.get('location');
    if (redirect.status !== 307 || location === null)
      throw new Error(`blob ${digest}: expected a 307 to storage, got ${redirect.status}`);
    const stored = new URL(location);
    const bytes = Buffer.from(await (await fetch(`${storageUrl}${stored.pathname}${stored.search}`)).arrayBuffer());
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw new Error(`blob ${digest} read back as ${actual}`);
    const gzip =
      typeof layer === 'object' && layer !== null && 'mediaType' in layer && String(layer.mediaType).endsWith('+gzip');
    for (const [path, content] of await untar(gzip ? gunzipSync(bytes) : bytes)) files.set(path, content);
  }
  return files;
}

async function untar(bytes: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => {
      if (Buffer.isBuffer(chunk)) chunks.push(chunk);
    });
    stream.on('end', () => {
      if (header.type === 'file') files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  const done = once(reader, 'finish');
  reader.end(bytes);
  await done;
  return files;
}
