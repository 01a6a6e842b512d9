import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MEDIA_TYPES } from '../../src/registry/manifest.ts';
import { sha256 } from '../../src/util/sha256.ts';
import { type AwsEmulator, startAwsEmulator } from './aws/server.ts';
import { AwsState, type Identity } from './aws/state.ts';
import { type EcrRegistry, startEcrRegistry } from './ecr/registry.ts';

const ACCOUNT = '123456789012';
const MiB = 1024 * 1024;
let aws: AwsEmulator;
let user: Identity;
let dir: string;
let ecr: { host: string; url: string; registry: EcrRegistry; close(): Promise<void> };
let password: string;

beforeAll(async () => {
  aws = await startAwsEmulator();
  user = aws.state.addUser(ACCOUNT, 'pipeline');
  aws.state.addRepository(ACCOUNT, 'team/model');
  aws.state.addRepository(ACCOUNT, 'team/base');
  aws.state.addRepository(ACCOUNT, 'team/frozen', 'IMMUTABLE');
  dir = await mkdtemp(join(tmpdir(), 'ecr-registry-test-'));
  ecr = await startEcrRegistry({ state: aws.state, dir, account: ACCOUNT });
  password = aws.state.issueEcrToken(user).password;
});

afterAll(async () => {
  await ecr.close();
  await aws.close();
  await rm(dir, { recursive: true, force: true });
});

function basic(pw = password): string {
  return `Basic ${Buffer.from(`AWS:${pw}`).toString('base64')}`;
}

interface Sent {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

async function call(
  method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; auth?: string | null } = {},
): Promise<Sent> {
  const authorization = options.auth === null ? {} : { authorization: options.auth ?? basic() };
  const res = await request(path.startsWith('http') ? path : `${ecr.url}${path}`, {
    method,
    headers: { ...authorization, ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const errorsSchema = v.object({ errors: v.tuple([v.object({ code: v.string(), message: v.string() })]) });

/** The one distribution-API error in an answer's body. */
function firstError(sent: Sent): { code: string; message: string } {
  return v.parse(errorsSchema, JSON.parse(sent.text)).errors[0];
}

function header(sent: Sent, name: string): string {
  const value = sent.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

async function startUpload(repository: string, query = ''): Promise<Sent> {
  return call('POST', `/v2/${repository}/blobs/uploads/${query}`);
}

async function patch(location: string, body: Buffer, start?: number): Promise<Sent> {
  const range = start === undefined ? {} : { 'content-range': `${start}-${start + body.length - 1}` };
  return call('PATCH', location, { headers: { 'content-type': 'application/octet-stream', ...range }, body });
}

/** Push `bytes` as docker does: POST, one streamed PATCH, PUT with the digest. */
async function pushBlob(repository: string, bytes: Buffer): Promise<string> {
  const started = await startUpload(repository);
  const patched = await patch(header(started, 'location'), bytes);
  expect(patched.status).toBe(201);
  const digest = sha256(bytes);
  const put = await call('PUT', `${header(patched, 'location')}?digest=${digest}`);
  expect(put.status).toBe(201);
  return digest;
}

function imageManifest(config: string, layers: readonly string[], mediaType: string = MEDIA_TYPES.ociManifest): string {
  const descriptor = (digest: string) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: 1 });
  return JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { ...descriptor(config), mediaType: 'application/vnd.oci.image.config.v1+json' },
    layers: layers.map(descriptor),
  });
}

async function putManifest(
  repository: string,
  reference: string,
  body: string,
  type: string = MEDIA_TYPES.ociManifest,
): Promise<Sent> {
  return call('PUT', `/v2/${repository}/manifests/${reference}`, { headers: { 'content-type': type }, body });
}

/**
 * Speak HTTP on a raw socket: send `head` and `body`, then either cut the connection (`cut`) or wait
 * for the status line; `closed` when the server drops the connection without answering.
 */
async function raw(head: readonly string[], body: Buffer | undefined, cut: boolean): Promise<string> {
  const url = new URL(ecr.url);
  const socket = connect(Number(url.port), url.hostname);
  socket.setTimeout(20_000, () => socket.destroy());
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('error', reject);
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      const line = received.split('\r\n')[0];
      if (received.includes('\r\n') && line !== undefined) {
        resolve(line);
        socket.destroy();
      }
    });
    socket.on('close', () => resolve('closed'));
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    if (body !== undefined) socket.write(body);
    if (cut) socket.end(() => socket.destroy());
  });
}

describe('ECR registry double: authentication and permissions', () => {
  it('401 with a Basic challenge without a token; GetAuthorizationToken gives a fresh password per call that opens /v2/', async () => {
    const anonymous = await call('GET', '/v2/', { auth: null });
    expect(anonymous.status).toBe(401);
    expect(header(anonymous, 'www-authenticate')).toBe(
      `Basic realm="https://${ecr.host}/",service="ecr.amazonaws.com"`,
    );
    expect(anonymous.text.trim()).toBe('Not Authorized');
    const client = new ECRClient({
      region: 'eu-west-1',
      endpoint: aws.url,
      credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    });
    const tokens = await Promise.all([
      client.send(new GetAuthorizationTokenCommand({})),
      client.send(new GetAuthorizationTokenCommand({})),
    ]);
    const decoded = tokens.map((t) =>
      Buffer.from(t.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString('utf8'),
    );
    expect(decoded[0]).toMatch(/^AWS:/);
    expect(decoded[0]).not.toBe(decoded[1]);
    const ok = await call('GET', '/v2/', { auth: `Basic ${Buffer.from(decoded[0] ?? '').toString('base64')}` });
    expect([ok.status, ok.text]).toEqual([200, '{}']);
    expect((await call('GET', '/v2/', { auth: basic('not-a-token') })).status).toBe(401);
  });

  it("a token for another account is 401 at that account's host; the Host names the account", async () => {
    const other = await call('GET', '/v2/', { headers: { host: '210987654321.dkr.ecr.eu-west-1.amazonaws.com' } });
    expect(other.status).toBe(401);
    const own = await call('GET', '/v2/', { headers: { host: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com` } });
    expect(own.status).toBe(200);
  });

  it('an expired token is 403 DENIED, not 401', async () => {
    const expiring = aws.state.issueEcrToken(user).password;
    aws.state.ecrTokens.set(expiring, {
      arn: user.arn,
      account: ACCOUNT,
      expiresAt: new Date(aws.state.now().getTime() - 1),
    });
    const expired = await call('GET', '/v2/', { auth: basic(expiring) });
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.text)).toEqual({
      errors: [{ code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' }],
    });
  });

  it('expireEcrTokens expires every password handed out', () => {
    const state = new AwsState();
    const token = state.issueEcrToken(state.addUser(ACCOUNT, 'short'));
    state.expireEcrTokens();
    expect(state.ecrTokens.get(token.password)?.expiresAt.getTime()).toBeLessThan(state.now().getTime());
  });

  it('an IAM deny is 403 DENIED naming the action and the repository ARN', async () => {
    aws.state.decisions.set('ecr:InitiateLayerUpload', 'implicitDeny');
    try {
      const denied = await startUpload('team/model');
      expect(denied.status).toBe(403);
      expect(JSON.parse(denied.text)).toEqual({
        errors: [
          {
            code: 'DENIED',
            message: `User: ${user.arn} is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/team/model because no identity-based policy allows the ecr:InitiateLayerUpload action`,
          },
        ],
      });
    } finally {
      aws.state.decisions.clear();
    }
  });
});

describe('ECR registry double: a repository that does not exist', () => {
  it('a write is answered by cutting the connection (dotnet/sdk-container-builds#279)', async () => {
    await expect(startUpload('team/none')).rejects.toThrow();
    expect(ecr.registry.log.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/v2/team/none/blobs/uploads/',
      status: undefined,
      authorized: true,
    });
  });

  it('reads are 404 NAME_UNKNOWN; HEAD has no body', async () => {
    const get = await call('GET', '/v2/team/none/manifests/latest');
    expect(get.status).toBe(404);
    expect(JSON.parse(get.text)).toEqual({
      errors: [
        {
          code: 'NAME_UNKNOWN',
          message: `The repository with name 'team/none' does not exist in the registry with id '${ACCOUNT}'`,
        },
      ],
    });
    const head = await call('HEAD', `/v2/team/none/blobs/${sha256(Buffer.from('x'))}`);
    expect([head.status, head.text]).toEqual([404, '']);
  });
});

describe('ECR registry double: chunked uploads', () => {
  it('PATCH answers 201 with a Range stuck at the first part; GET on the upload shows the same; PUT checks the digest', async () => {
    const [one, two, last] = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB)];
    const started = await startUpload('team/model');
    expect(started.status).toBe(202);
    expect(header(started, 'range')).toBe('0-0');
    expect(header(started, 'location')).toMatch(/^\/v2\/team\/model\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const first = await patch(header(started, 'location'), one, 0);
    expect([first.status, header(first, 'range')]).toEqual([201, `0-${5 * MiB - 1}`]);
    const second = await patch(header(first, 'location'), two, 5 * MiB);
    expect([second.status, header(second, 'range')]).toEqual([201, `0-${5 * MiB - 1}`]);
    const status = await call('GET', header(second, 'location'));
    expect([status.status, header(status, 'range')]).toEqual([204, `0-${5 * MiB - 1}`]);
    const whole = Buffer.concat([one, two, last]);
    const wrong = await call('PUT', `${header(second, 'location')}?digest=${sha256(Buffer.from('other'))}`, {
      headers: { 'content-range': `${10 * MiB}-${11 * MiB - 1}` },
      body: last,
    });
    expect(wrong.status).toBe(400);
    expect(firstError(wrong).code).toBe('DIGEST_INVALID');
    // The last part was stored before the digest was found wrong; completing without a body now succeeds.
    const done = await call('PUT', `${header(second, 'location')}?digest=${sha256(whole)}`);
    expect([done.status, header(done, 'docker-content-digest'), header(done, 'location')]).toEqual([
      201,
      sha256(whole),
      `/v2/team/model/blobs/${sha256(whole)}`,
    ]);
    expect(ecr.registry.log.blobs.at(-1)).toEqual({
      repository: 'team/model',
      digest: sha256(whole),
      size: 11 * MiB,
      parts: 3,
    });
  });

  it('a part that does not start at the held offset is 416 naming both offsets', async () => {
    const started = await startUpload('team/model');
    await patch(header(started, 'location'), randomBytes(5 * MiB), 0);
    const again = await patch(header(started, 'location'), randomBytes(5 * MiB), 0);
    expect(again.status).toBe(416);
    expect(JSON.parse(again.text)).toEqual({
      errors: [{ code: 'BLOB_UPLOAD_INVALID', message: `First byte of the layer part is 0 instead of ${5 * MiB}` }],
    });
  });

  it('a part under 5 MiB may only be the last; a chunked part over 10 MiB is refused at once', async () => {
    const started = await startUpload('team/model');
    const small = await patch(header(started, 'location'), randomBytes(MiB), 0);
    expect(small.status).toBe(201);
    const next = await patch(header(started, 'location'), randomBytes(MiB), MiB);
    expect(next.status).toBe(400);
    expect(firstError(next).message).toMatch(/^LayerPartTooSmallException: /);
    const finalWithBody = await call('PUT', `${header(started, 'location')}?digest=${sha256(Buffer.alloc(0))}`, {
      headers: { 'content-range': `${MiB}-${2 * MiB - 1}` },
      body: randomBytes(MiB),
    });
    expect(finalWithBody.status).toBe(400);
    const fresh = await startUpload('team/model');
    const big = await patch(header(fresh, 'location'), randomBytes(10 * MiB + 1), 0);
    expect(big.status).toBe(400);
    expect(firstError(big)).toMatchObject({ code: 'BLOB_UPLOAD_INVALID' });
  });

  it('a layer over 52,000 MiB is refused from the claim alone, chunked or streamed', async () => {
    const started = await startUpload('team/model');
    const path = header(started, 'location');
    const limit = 52_000 * MiB;
    const chunked = await raw(
      [
        `PATCH ${path} HTTP/1.1`,
        `Host: ${ecr.host}`,
        `Authorization: ${basic()}`,
        `Content-Range: 0-${limit}`,
        `Content-Length: ${limit + 1}`,
      ],
      undefined,
      false,
    );
    expect(chunked).toBe('HTTP/1.1 400 Bad Request');
    const streamed = await raw(
      [`PATCH ${path} HTTP/1.1`, `Host: ${ecr.host}`, `Authorization: ${basic()}`, `Content-Length: ${limit + 1}`],
      undefined,
      false,
    );
    expect(streamed).toBe('HTTP/1.1 400 Bad Request');
  });

  it('a part cut off mid-request, or a streamed PATCH that never ends, is not stored at all', async () => {
    const started = await startUpload('team/model');
    const path = header(started, 'location');
    const head = [`PATCH ${path} HTTP/1.1`, `Host: ${ecr.host}`, `Authorization: ${basic()}`];
    expect(
      await raw([...head, `Content-Range: 0-${5 * MiB - 1}`, `Content-Length: ${5 * MiB}`], randomBytes(MiB), true),
    ).toBe('closed');
    expect(
      await raw([...head, 'Transfer-Encoding: chunked'], Buffer.from(`100000\r\n${'a'.repeat(0x100000)}\r\n`), true),
    ).toBe('closed');
    // Once the registry has seen the cut, the upload still holds nothing: a part from 0 is taken.
    const part = randomBytes(5 * MiB);
    // The bound is for a hang: the registry sees the cut within milliseconds on an idle machine.
    await vi.waitFor(async () => expect((await patch(path, part, 0)).status).toBe(201), {
      timeout: 30_000,
      interval: 20,
    });
    const done = await call('PUT', `${path}?digest=${sha256(part)}`);
    expect(done.status).toBe(201);
  });

  it('a streamed PATCH (docker push) takes a whole layer over 10 MiB, only as the first write; zero regions become holes', async () => {
    const layer = Buffer.concat([randomBytes(MiB), Buffer.alloc(16 * MiB), randomBytes(123)]);
    const started = await startUpload('team/model');
    const streamed = await patch(header(started, 'location'), layer);
    expect([streamed.status, header(streamed, 'range')]).toEqual([201, `0-${layer.length - 1}`]);
    const again = await patch(header(started, 'location'), randomBytes(10));
    expect(again.status).toBe(400);
    const done = await call('PUT', `${header(started, 'location')}?digest=${sha256(layer)}`);
    expect(done.status).toBe(201);
    const stored = await stat(join(dir, 'blobs', sha256(layer).replace(':', '-')));
    expect(stored.size).toBe(layer.length);
    expect(stored.blocks * 512).toBeLessThan(4 * MiB);
    expect(
      ecr.registry.log.parts
        .filter((p) => p.upload === header(started, 'docker-upload-uuid'))
        .map((p) => [p.start, p.length, p.status, p.streamed]),
    ).toEqual([
      [0, layer.length, 201, true],
      [layer.length, 10, 400, false],
    ]);
  });

  it('a part longer than its Content-Range is refused and not stored', async () => {
    const started = await startUpload('team/model');
    const path = header(started, 'location');
    const body = Buffer.from(`14\r\n${'b'.repeat(20)}\r\n0\r\n\r\n`);
    const status = await raw(
      [
        `PATCH ${path} HTTP/1.1`,
        `Host: ${ecr.host}`,
        `Authorization: ${basic()}`,
        'Content-Range: 0-9',
        'Transfer-Encoding: chunked',
      ],
      body,
      false,
    );
    expect(status).toBe('HTTP/1.1 400 Bad Request');
    const part = randomBytes(MiB);
    expect((await patch(path, part, 0)).status).toBe(201);
  });

  it('an unknown upload is 404 BLOB_UPLOAD_UNKNOWN; DELETE ends a session', async () => {
    const started = await startUpload('team/model');
    expect((await call('DELETE', header(started, 'location'))).status).toBe(204);
    const gone = await call('GET', header(started, 'location'));
    expect([gone.status, firstError(gone).code]).toEqual([404, 'BLOB_UPLOAD_UNKNOWN']);
  });

  it('malformed requests get 400/404 and the registry keeps serving', async () => {
    const started = await startUpload('team/model');
    const badRange = await call('PATCH', header(started, 'location'), {
      headers: { 'content-range': 'bytes=0-1' },
      body: 'ab',
    });
    expect(badRange.status).toBe(400);
    expect((await call('POST', '/v2/Team/model/blobs/uploads/')).status).toBe(400);
    expect((await call('GET', '/v2/team/model/nothing')).status).toBe(404);
    expect((await call('GET', '/v2/')).status).toBe(200);
  });
});

describe('ECR registry double: layer part count', () => {
  it(
    'the 4,201st part is refused (minimum part size lowered for this test only: 4,200 real parts would be 21 GB)',
    { timeout: 120_000 },
    async () => {
      const small = await startEcrRegistry({ state: aws.state, account: ACCOUNT, limits: { minPartBytes: 1 } });
      try {
        const started = await request(`${small.url}/v2/team/model/blobs/uploads/`, {
          method: 'POST',
          headers: { authorization: basic() },
        });
        await started.body.dump();
        const location = String(started.headers.location);
        for (let i = 0; i < 4200; i++) {
          const res = await request(`${small.url}${location}`, {
            method: 'PATCH',
            headers: { authorization: basic(), 'content-range': `${i}-${i}` },
            body: 'x',
          });
          await res.body.dump();
          expect(res.statusCode).toBe(201);
        }
        const over = await request(`${small.url}${location}`, {
          method: 'PATCH',
          headers: { authorization: basic(), 'content-range': '4200-4200' },
          body: 'x',
        });
        expect(over.statusCode).toBe(400);
        expect(await over.body.text()).toMatch(/4200 layer parts/);
      } finally {
        await small.close();
      }
    },
  );
});

describe('ECR registry double: blob downloads and mounting', () => {
  it('GET blob is a 307 to a presigned URL that serves the bytes and ranges, and refuses an Authorization header', async () => {
    const bytes = randomBytes(100_000);
    const digest = await pushBlob('team/model', bytes);
    const head = await call('HEAD', `/v2/team/model/blobs/${digest}`);
    expect([head.status, header(head, 'content-length'), header(head, 'docker-content-digest')]).toEqual([
      200,
      '100000',
      digest,
    ]);
    const redirect = await call('GET', `/v2/team/model/blobs/${digest}`);
    expect(redirect.status).toBe(307);
    const location = header(redirect, 'location');
    expect(location).toMatch(/\/ecr-layer\/[0-9a-f-]+\?.*X-Amz-Expires=\d+.*X-Amz-Signature=[0-9a-f]{64}/);
    const res = await request(location);
    expect([res.statusCode, sha256(Buffer.from(await res.body.arrayBuffer()))]).toEqual([200, digest]);
    const ranged = await request(location, { headers: { range: 'bytes=99000-' } });
    expect([ranged.statusCode, Buffer.from(await ranged.body.arrayBuffer()).equals(bytes.subarray(99_000))]).toEqual([
      206,
      true,
    ]);
    const leaked = await call('GET', location);
    expect(leaked.status).toBe(400);
    expect(leaked.text).toContain('<Code>InvalidArgument</Code>');
    expect(leaked.text).toContain('Only one auth mechanism allowed');
    const forged = await request(location.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'));
    await forged.body.dump();
    expect(forged.statusCode).toBe(403);
    expect((await call('HEAD', `/v2/team/base/blobs/${digest}`)).status).toBe(404);
  });

  it('a mount opens an upload session (202) unless the account opted in and a manifest of the source references the blob', async () => {
    const config = await pushBlob('team/base', Buffer.from('{"architecture":"amd64","os":"linux"}'));
    const layer = await pushBlob('team/base', randomBytes(1000));
    const loose = await pushBlob('team/base', randomBytes(1000));
    expect((await putManifest('team/base', 'v1', imageManifest(config, [layer]))).status).toBe(201);
    const off = await startUpload('team/model', `?mount=${layer}&from=team/base`);
    expect([off.status, header(off, 'location')]).toEqual([
      202,
      expect.stringMatching(/^\/v2\/team\/model\/blobs\/uploads\//),
    ]);
    aws.state.ecrBlobMounting.add(ACCOUNT);
    try {
      const mounted = await startUpload('team/model', `?mount=${layer}&from=team/base`);
      expect([mounted.status, header(mounted, 'location')]).toEqual([201, `/v2/team/model/blobs/${layer}`]);
      expect((await call('HEAD', `/v2/team/model/blobs/${layer}`)).status).toBe(200);
      expect((await startUpload('team/model', `?mount=${loose}&from=team/base`)).status).toBe(202);
    } finally {
      aws.state.ecrBlobMounting.clear();
    }
  });
});

describe('ECR registry double: manifests', () => {
  let config: string;
  let layer: string;
  beforeAll(async () => {
    config = await pushBlob('team/frozen', Buffer.from('{"architecture":"arm64","os":"linux"}'));
    layer = await pushBlob('team/frozen', randomBytes(2000));
  });

  it('201 with the digest; GET by tag and digest returns the bytes and their media type; DescribeImages sees the push', async () => {
    const body = imageManifest(config, [layer]);
    const put = await putManifest('team/frozen', 'v1', body);
    expect([put.status, header(put, 'docker-content-digest')]).toEqual([201, sha256(Buffer.from(body))]);
    for (const reference of ['v1', sha256(Buffer.from(body))]) {
      const got = await call('GET', `/v2/team/frozen/manifests/${reference}`);
      expect([got.status, header(got, 'content-type'), got.text]).toEqual([200, MEDIA_TYPES.ociManifest, body]);
    }
    const client = new ECRClient({
      region: 'eu-west-1',
      endpoint: aws.url,
      credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    });
    const described = await client.send(
      new DescribeImagesCommand({ repositoryName: 'team/frozen', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(described.imageDetails?.[0]).toMatchObject({ imageDigest: sha256(Buffer.from(body)), imageTags: ['v1'] });
    expect(ecr.registry.log.manifests.at(-1)).toEqual({
      repository: 'team/frozen',
      reference: 'v1',
      digest: sha256(Buffer.from(body)),
      layers: 1,
      status: 201,
    });
  });

  it('an immutable tag cannot be pushed again with other content; the same content is fine', async () => {
    const body = imageManifest(config, [layer]);
    expect((await putManifest('team/frozen', 'v1', body)).status).toBe(201);
    const other = await putManifest('team/frozen', 'v1', imageManifest(config, [layer, config]));
    expect(other.status).toBe(400);
    expect(JSON.parse(other.text)).toEqual({
      errors: [
        {
          code: 'TAG_INVALID',
          message:
            "The image tag 'v1' already exists in the 'team/frozen' repository and cannot be overwritten because the repository is immutable.",
        },
      ],
    });
  });

  it('a referenced blob missing from the repository is MANIFEST_BLOB_UNKNOWN; so is a missing child of an index', async () => {
    const missing = sha256(Buffer.from('never pushed'));
    const put = await putManifest('team/frozen', 'v2', imageManifest(config, [missing]));
    expect([put.status, firstError(put).code]).toEqual([400, 'MANIFEST_BLOB_UNKNOWN']);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: missing, size: 10 }],
    });
    const indexPut = await putManifest('team/frozen', 'v3', index, MEDIA_TYPES.ociIndex);
    expect([indexPut.status, firstError(indexPut).code]).toEqual([400, 'MANIFEST_BLOB_UNKNOWN']);
  });

  it('more than 500 layers is 405 UNSUPPORTED; over 4 MiB or a Content-Type that is not the mediaType is MANIFEST_INVALID', async () => {
    const many = imageManifest(
      config,
      Array.from({ length: 501 }, () => layer),
    );
    const tooMany = await putManifest('team/frozen', 'many', many);
    expect(tooMany.status).toBe(405);
    expect(firstError(tooMany).code).toBe('UNSUPPORTED');
    expect(firstError(tooMany).message).toContain('Limit on number of layers per image exceeded');
    const huge = imageManifest(config, [layer]).replace(/}$/, `,"annotations":{"pad":"${'x'.repeat(4 * MiB)}"}}`);
    const tooBig = await putManifest('team/frozen', 'huge', huge);
    expect([tooBig.status, firstError(tooBig).code]).toEqual([400, 'MANIFEST_INVALID']);
    const mistyped = await putManifest(
      'team/frozen',
      'typed',
      imageManifest(config, [layer]),
      MEDIA_TYPES.dockerManifest,
    );
    expect([mistyped.status, firstError(mistyped).code]).toEqual([400, 'MANIFEST_INVALID']);
  });
});
