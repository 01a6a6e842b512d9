import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../emulators/aws/state.ts';
import { imageManifest, memoryBlob, randomBlob } from '../support/blobs.ts';
import { pushBusyboxBase } from '../support/busybox-base.ts';
import type { CliResult } from '../support/cli.ts';
import { type EcrWorld, namespaceSupport, startEcrWorld } from '../support/ecr-world.ts';
import { imageFiles } from '../support/ecr-read-back.ts';
import { writeLayout } from '../support/layout.ts';

const MiB = 2 ** 20;
let world: EcrWorld;
let pipeline: Identity;
let work: string;
let base: string;

/**
 * The registry double on a loopback port of the test process, for what a test does beside the CLI
 * (seeding a base, reading a pushed image back). It serves the same store as the world's ECR host.
 */
/** No stack trace and no "bug" wording: a known failure is one line and a hint. */
function expectKnownFailure(result: CliResult, code: number): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).not.toMatch(/This is a bug|\n\s+at /);
}

function uploadsInto(repository: string): { start: number; length: number; upload: string }[] {
  return world.registry.log.parts.filter((p) => p.repository === repository);
}

/** Every part within ECR's limits: at most 10 MiB, at least 5 MiB except the last of its upload. */
function expectEcrSizedParts(repository: string): void {
  const byUpload = new Map<string, number[]>();
  for (const part of uploadsInto(repository))
    byUpload.set(part.upload, [...(byUpload.get(part.upload) ?? []), part.length]);
  for (const lengths of byUpload.values()) {
    lengths.forEach((length, i) => {
      expect(length).toBeLessThanOrEqual(10 * MiB);
      if (i < lengths.length - 1) expect(length).toBeGreaterThanOrEqual(5 * MiB);
    });
    expect(lengths.length).toBeLessThanOrEqual(4200);
  }
}

/** The outcome of each blob in a `-o json` build or push result. */
function outcomes(stdout: string): string[] {
  const report: unknown = JSON.parse(stdout);
  const blobs: unknown = typeof report === 'object' && report !== null && 'blobs' in report ? report.blobs : [];
  return (Array.isArray(blobs) ? blobs : []).map((b: unknown) =>
    typeof b === 'object' && b !== null && 'outcome' in b ? String(b.outcome) : '',
  );
}

async function layoutWith(name: string, layers: ReturnType<typeof randomBlob>[]): Promise<string> {
  const dir = join(work, name);
  const image = imageManifest(layers);
  await writeLayout(dir, [{ root: image, ref: 'v1' }]);
  return dir;
}

describe.skipIf(!namespaceSupport().ok)(
  'Amazon ECR by its real host names: the built CLI against the faithful ECR double',
  () => {
    beforeAll(async () => {
      world = await startEcrWorld();
      pipeline = world.state.addUser(world.account, 'pipeline');
      work = await mkdtemp(join(tmpdir(), 'preflight-ecr-e2e-'));
      world.state.addRepository(world.account, 'base/busybox');
      const password = world.state.issueEcrToken(pipeline).password;
      const seeded = await world.onLoopback(({ host }) =>
        pushBusyboxBase(
          { host, url: `http://${host}`, username: 'AWS', password, dataDir: work, stop: () => Promise.resolve() },
          'base/busybox',
        ),
      );
      base = seeded.reference.replace(/^[^/]+/, world.registryHost);
      await mkdir(join(work, 'model'));
      await writeFile(join(work, 'model', 'config.json'), '{"architectures": ["MistralForCausalLM"]}');
      await writeFile(join(work, 'model', 'model.safetensors'), randomBlob(12 * MiB).bytes);
    }, 120_000);

    afterAll(async () => {
      await world.close();
      await rm(work, { recursive: true, force: true });
    });

    it('push: a 23 MiB layer goes up in ECR-sized parts although ECR keeps its Range at the first part', async () => {
      world.state.addRepository(world.account, 'team/app');
      const layer = randomBlob(23 * MiB + 7);
      const layout = await layoutWith('app', [layer, memoryBlob(Buffer.from('small'))]);
      const result = await world.runCli(['push', `oci:${layout}:v1`, `${world.registryHost}/team/app:v1`], {
        env: world.env(pipeline),
      });
      expectKnownFailure(result, 0);
      expect(result.stdout).toMatch(new RegExp(`^${world.registryHost}/team/app@sha256:[0-9a-f]{64}\\n$`));
      const parts = uploadsInto('team/app').filter((p) => p.length > 1000);
      expect(parts.map((p) => p.start)).toEqual([0, 8 * MiB, 16 * MiB]);
      expectEcrSizedParts('team/app');
      expect(world.registry.log.blobs).toContainEqual(
        expect.objectContaining({ repository: 'team/app', digest: layer.digest, size: layer.size }),
      );
      expect(world.registry.log.manifests).toContainEqual(
        expect.objectContaining({ repository: 'team/app', reference: 'v1', status: 201 }),
      );
    });

    it('check: image-architecture reads the pushed ECR image with the SDK token (no docker login)', async () => {
      const image = `${world.registryHost}/team/app:v1`;
      const result = await world.runCli(
        ['check', '--only', 'image-architecture', '--image', image, '--ecr-uri', image],
        { env: world.env(pipeline) },
      );
      expect(result.stdout + result.stderr).toMatch(/PASS\s+image-architecture/);
      expectKnownFailure(result, 0);
    });

    it('modelcar build: base from ECR, model layers in ECR parts, contract known before the push, no read-back', async () => {
      world.state.addRepository(world.account, 'team/model');
      const model = join(work, 'model');
      const before = world.registry.log.requests.length;
      const result = await world.runCli(
        [
          'modelcar',
          'build',
          '--model-dir',
          model,
          '--image',
          `${world.registryHost}/team/model:v1`,
          '--base',
          base,
          '--no-cache',
          '-o',
          'json',
        ],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(result, 0);
      const report: unknown = JSON.parse(result.stdout);
      expect(report).toMatchObject({ contract: { problems: [] } });
      const requests = world.registry.log.requests.slice(before);
      // What a push-only role may do: nothing on the destination is read back.
      expect(requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v2/team/model/'))).toEqual([]);
      expectEcrSizedParts('team/model');
      // Blob mounting is off on this account: ECR answers the mount with 202 and an upload session, which
      // the push uses instead of opening a second one (one POST per uploaded blob).
      const posts = requests.filter((r) => r.method === 'POST' && r.path === '/v2/team/model/blobs/uploads/').length;
      const uploaded = world.registry.log.blobs.filter((b) => b.repository === 'team/model').length;
      expect(posts).toBe(uploaded);
      // The check reads the pushed modelcar's tar headers by Range from ECR's storage redirect, which
      // refuses the registry's Authorization: passing proves the reader does not send it there.
      const image = `${world.registryHost}/team/model:v1`;
      const check = await world.runCli(['check', '--only', 'modelcar-contract', '--image', image], {
        env: world.env(pipeline),
      });
      expect(check.stdout + check.stderr).toMatch(/PASS\s+modelcar-contract/);
      expectKnownFailure(check, 0);
    });

    it('modelcar build mounts the base when the account enabled blob mounting', async () => {
      world.state.addRepository(world.account, 'team/mounted');
      world.state.ecrBlobMounting.add(world.account);
      try {
        const model = join(work, 'model');
        const result = await world.runCli(
          [
            'modelcar',
            'build',
            '--model-dir',
            model,
            '--image',
            `${world.registryHost}/team/mounted:v1`,
            '--base',
            base,
            '--no-cache',
            '-o',
            'json',
          ],
          { env: world.env(pipeline) },
        );
        expectKnownFailure(result, 0);
        expect(outcomes(result.stdout)).toContain('mounted');
      } finally {
        world.state.ecrBlobMounting.delete(world.account);
      }
    });

    it('a model with more large files than ECR has layers: at most 500 layers, every file read back byte for byte', async () => {
      world.state.addRepository(world.account, 'team/many');
      const model = join(work, 'many');
      await mkdir(model);
      const written = new Map<string, Buffer>();
      for (let i = 0; i < 520; i++) {
        const bytes = randomBlob(1500 + i).bytes;
        const name = `shard-${String(i).padStart(4, '0')}.bin`;
        written.set(name, bytes);
        await writeFile(join(model, name), bytes);
      }
      const result = await world.runCli(
        [
          'modelcar',
          'build',
          '--model-dir',
          model,
          '--image',
          `${world.registryHost}/team/many:v1`,
          '--base',
          base,
          '--layer-threshold',
          '1KiB',
          '--no-cache',
        ],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(result, 0);
      const pushed = world.registry.log.manifests.filter((m) => m.repository === 'team/many');
      expect(pushed.map((m) => m.status)).toEqual([201]);
      expect(pushed[0]?.layers).toBeLessThanOrEqual(500);
      const password = world.state.issueEcrToken(pipeline).password;
      const files = await world.onLoopback(({ host, storageUrl }) =>
        imageFiles(`http://${host}`, storageUrl, password, 'team/many', 'v1'),
      );
      for (const [name, bytes] of written) expect(files.get(`models/${name}`)?.equals(bytes), name).toBe(true);
    }, 180_000);

    it('preflight run: checks through the real STS, IAM and ECR host names, then the build, then the KFP output', async () => {
      world.state.addRepository(world.account, 'team/run');
      const out = join(work, 'run-out', 'image_uri');
      const result = await world.runCli(
        [
          'run',
          '--model-dir',
          join(work, 'model'),
          '--image',
          `${world.registryHost}/team/run`,
          '--tag',
          'v1',
          '--base',
          base,
          '--no-cache',
          '--only',
          'ecr-uri,aws-credentials,ecr-repository,ecr-permissions,ecr-login',
          '--image-uri-file',
          out,
        ],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(result, 0);
      for (const id of ['aws-credentials', 'ecr-repository', 'ecr-permissions', 'ecr-login'])
        expect(result.stderr).toMatch(new RegExp(`PASS\\s+${id}`));
      const uri = await readFile(out, 'utf8');
      expect(uri).toMatch(new RegExp(`^${world.registryHost}/team/run@sha256:[0-9a-f]{64}$`));
      expect(world.state.calls.some((c) => c.operation === 'SimulatePrincipalPolicy')).toBe(true);
    });

    it('a repository that does not exist: one line naming it and aws ecr create-repository, exit 1', async () => {
      const layout = await layoutWith('missing', [randomBlob(1000)]);
      const result = await world.runCli(['push', `oci:${layout}:v1`, `${world.registryHost}/team/missing:v1`], {
        env: world.env(pipeline),
      });
      expectKnownFailure(result, 1);
      expect(result.stderr).toContain('team/missing');
      expect(result.stderr).toContain(
        `aws ecr create-repository --repository-name team/missing --region ${world.region}`,
      );
    });

    it('an immutable tag that exists: names the tag and the fix, exit 1', async () => {
      world.state.addRepository(world.account, 'team/frozen', 'IMMUTABLE');
      const first = await world.runCli(
        ['push', `oci:${await layoutWith('frozen-1', [randomBlob(2000)])}:v1`, `${world.registryHost}/team/frozen:v1`],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(first, 0);
      const second = await world.runCli(
        ['push', `oci:${await layoutWith('frozen-2', [randomBlob(2000)])}:v1`, `${world.registryHost}/team/frozen:v1`],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(second, 1);
      expect(second.stderr).toMatch(/immutable/);
      expect(second.stderr).toContain('put-image-tag-mutability --repository-name team/frozen');
    });

    it('an image of more layers than ECR takes: the 405 is one line with the fix, exit 1, no tag', async () => {
      world.state.addRepository(world.account, 'team/layered');
      const layout = await layoutWith(
        'layered',
        Array.from({ length: 501 }, () => randomBlob(64)),
      );
      const result = await world.runCli(
        ['push', `oci:${layout}:v1`, `${world.registryHost}/team/layered:v1`, '--concurrency', '16'],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(result, 1);
      expect(result.stderr).toMatch(/405/);
      expect(result.stderr).toMatch(/at most 500 layers per image.*--max-layers/);
      expect(world.state.repositories.get(`${world.account}/team/layered`)?.tags.has('v1')).toBe(false);
    });

    it('a token that expires during the push is replaced, and the push completes', async () => {
      world.state.addRepository(world.account, 'team/expiring');
      const layout = await layoutWith('expiring', [randomBlob(17 * MiB)]);
      const start = world.registry.log.parts.length;
      const tokens = world.state.calls.filter((c) => c.operation === 'GetAuthorizationToken').length;
      const now = world.state.now;
      // The emulator's clock jumps 13 hours once the first part is stored: driven by the registry's own
      // count, not by time.
      world.state.now = () => new Date(now().getTime() + (world.registry.log.parts.length > start ? 13 * 3600_000 : 0));
      try {
        const result = await world.runCli(
          ['push', `oci:${layout}:v1`, `${world.registryHost}/team/expiring:v1`, '--debug'],
          { env: world.env(pipeline) },
        );
        expectKnownFailure(result, 0);
      } finally {
        world.state.now = now;
      }
      expect(world.state.calls.filter((c) => c.operation === 'GetAuthorizationToken').length).toBeGreaterThanOrEqual(
        tokens + 2,
      );
      expect(world.registry.log.requests.some((r) => r.status === 403)).toBe(true);
    });

    it('a file above 52,000 MiB is refused before any byte goes to the destination, exit 2', async () => {
      world.state.addRepository(world.account, 'team/huge');
      const model = join(work, 'huge');
      await mkdir(model);
      await writeFile(join(model, 'model.gguf'), '');
      await truncate(join(model, 'model.gguf'), 52_001 * MiB);
      const before = world.registry.log.requests.length;
      const result = await world.runCli(
        [
          'modelcar',
          'build',
          '--model-dir',
          model,
          '--image',
          `${world.registryHost}/team/huge:v1`,
          '--base',
          base,
          '--no-cache',
        ],
        { env: world.env(pipeline) },
      );
      expectKnownFailure(result, 2);
      expect(result.stderr).toMatch(/model\.gguf.*52,001 MiB\).*52,000 MiB/);
      expect(world.registry.log.requests.slice(before).filter((r) => r.path.startsWith('/v2/team/huge/'))).toEqual([]);
    });

    it('--chunk-size outside 5-10 MiB is a usage error for every command that pushes to ECR', async () => {
      const env = world.env(pipeline);
      const layout = await layoutWith('chunk', [randomBlob(1000)]);
      for (const args of [
        ['push', `oci:${layout}:v1`, `${world.registryHost}/team/app:v2`, '--chunk-size', '4MiB'],
        [
          'modelcar',
          'build',
          '--model-dir',
          join(work, 'model'),
          '--image',
          `${world.registryHost}/team/model:v2`,
          '--base',
          base,
          '--chunk-size',
          '11MiB',
        ],
      ]) {
        const result = await world.runCli(args, { env });
        expectKnownFailure(result, 2);
        expect(result.stderr).toMatch(/--chunk-size \d+ is outside ECR's part limits/);
      }
    });
  },
);
