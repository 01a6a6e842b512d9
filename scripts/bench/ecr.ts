// npm run bench -- ecr [--cases a,b,c,d] [--dir PATH]
// The ECR scale cases, each through the spawned CLI by ECR's real host names (a private network
// namespace; the faithful ECR double behind it), beside curl streaming the same bytes into the same
// double as the transport ceiling:
//   (a) one file that needs more than 4,200 parts of 8 MiB (34,000 MiB, sparse)
//   (b) one file above 42,000 MiB (45 GiB, sparse): no chunked upload fits, one streamed PATCH
//   (c) 600 files over --layer-threshold: more than ECR's 500 layers per image
//   (d) one file above 52,000 MiB: refused up front, exit 2
// Sparse files cost no disk here and none in the double (it stores zero regions as holes), but every
// byte is still read, hashed and sent, on both sides.
import { mkdir, open, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';
import type { Identity } from '../../test/emulators/aws/state.ts';
import { pushBusyboxBase } from '../../test/support/busybox-base.ts';
import { imageFiles } from '../../test/support/ecr-read-back.ts';
import { CLI } from '../../test/support/cli.ts';
import { type EcrWorld, startEcrWorld } from '../../test/support/ecr-world.ts';

const MiB = 2 ** 20;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Case {
  readonly id: string;
  readonly what: string;
  /** Builds the model dir; returns the bytes of the model and the extra build flags. */
  readonly make: (dir: string) => Promise<{ bytes: number; flags: string[] }>;
  readonly expectCode: number;
  readonly curl: boolean;
}

const CASES: readonly Case[] = [
  {
    id: 'a',
    what: '1 file of 34,000 MiB (> 4,200 parts of 8 MiB)',
    make: (dir) => sparse(dir, 34_000 * MiB),
    expectCode: 0,
    curl: true,
  },
  {
    id: 'b',
    what: '1 file of 46,080 MiB (45 GiB, > 42,000 MiB)',
    make: (dir) => sparse(dir, 45 * 1024 * MiB),
    expectCode: 0,
    curl: true,
  },
  {
    id: 'c',
    what: '600 files of 1 MiB over a 512 KiB threshold (> 500 layers)',
    make: (dir) => manyFiles(dir, 600, MiB),
    expectCode: 0,
    curl: false,
  },
  {
    id: 'd',
    what: '1 file of 53,000 MiB (> 52,000 MiB)',
    make: (dir) => sparse(dir, 53_000 * MiB),
    expectCode: 2,
    curl: false,
  },
];

export async function benchEcr(argv: readonly string[]): Promise<string> {
  const flag = (name: string, fallback: string): string => {
    const at = argv.indexOf(name);
    return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
  };
  const wanted = flag('--cases', 'a,b,c,d').split(',');
  const root = flag('--dir', join(ROOT, '.bench', 'ecr'));
  const world = await startEcrWorld();
  const rows: string[] = [];
  try {
    const pipeline = world.state.addUser(world.account, 'bench');
    const base = await seedBase(world, pipeline);
    for (const c of CASES.filter((x) => wanted.includes(x.id))) {
      const dir = join(root, c.id);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const model = await c.make(dir);
      const repository = `bench/${c.id}`;
      world.state.addRepository(world.account, repository);
      const timeFile = join(dir, 'time');
      const started = performance.now();
      const result = await world.run(
        '/usr/bin/time',
        [
          '-f',
          '%M',
          '-o',
          timeFile,
          process.execPath,
          CLI,
          'modelcar',
          'build',
          '--model-dir',
          join(dir, 'model'),
          '--image',
          `${world.registryHost}/${repository}:v1`,
          '--base',
          base,
          '--no-cache',
          ...model.flags,
        ],
        { env: world.env(pipeline) },
      );
      const wallMs = performance.now() - started;
      const rssKiB = Number((await readFile(timeFile, 'utf8')).trim().split('\n').pop());
      if (result.code !== c.expectCode)
        process.stderr.write(
          `case ${c.id}: exit ${String(result.code)}, expected ${c.expectCode}\n${result.stderr.slice(-2000)}\n`,
        );
      const parts = world.registry.log.parts.filter((p) => p.repository === repository && p.status < 300);
      const layers = world.registry.log.manifests
        .filter((m) => m.repository === repository && m.status === 201)
        .map((m) => m.layers);
      const note =
        c.expectCode === 2
          ? firstLine(result.stderr)
          : c.id === 'c' && result.code === 0
            ? await readBack(world, pipeline, repository, join(dir, 'model'))
            : '';
      rows.push(
        row(c, 'preflight modelcar build', model.bytes, wallMs, rssKiB * 1024, result.code, parts, layers, note),
      );
      if (c.curl) rows.push(await curlRow(world, pipeline, c, join(dir, 'model', 'model.bin'), model.bytes));
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await world.close();
  }
  const header =
    '| case | tool | exit | largest layer went up as | layers in the image | wall | MB/s | peak RSS | note |\n|---|---|---|---|---|---|---|---|---|';
  return [header, ...rows].join('\n');
}

function row(
  c: Case,
  tool: string,
  bytes: number,
  wallMs: number,
  rss: number,
  code: number | null,
  parts: readonly { upload: string; length: number; streamed: boolean }[],
  layers: readonly number[],
  note: string,
): string {
  // The largest upload is the model layer: its parts are what ECR's limits are about.
  const totals = new Map<string, number>();
  for (const p of parts) totals.set(p.upload, (totals.get(p.upload) ?? 0) + p.length);
  const largest = [...totals].sort((x, y) => y[1] - x[1])[0]?.[0];
  const layer = parts.filter((p) => p.upload === largest);
  const partSize = layer.reduce((n, p) => Math.max(n, p.length), 0);
  const how = layer.some((p) => p.streamed)
    ? 'one streamed PATCH'
    : `${layer.length.toLocaleString('en-US')} × ≤ ${(partSize / MiB).toFixed(2)} MiB`;
  const mbps = code === 0 ? (bytes / 1e6 / (wallMs / 1000)).toFixed(0) : '–';
  return `| (${c.id}) ${c.what} | ${tool} | ${String(code)} | ${layer.length === 0 ? '–' : how} | ${layers.join(', ') || '–'} | ${(wallMs / 1000).toFixed(1)} s | ${mbps} | ${(rss / MiB).toFixed(0)} MiB | ${note} |`;
}

/** curl streams the same file as one PATCH into the same double: the ceiling of TLS, the namespace and the double. */
async function curlRow(world: EcrWorld, identity: Identity, c: Case, file: string, bytes: number): Promise<string> {
  const repository = `bench/${c.id}-curl`;
  world.state.addRepository(world.account, repository);
  const dir = join(file, '..', '..');
  // The token goes in a 0600 config file, never on a command line.
  const config = join(dir, 'curl.conf');
  await writeFile(config, `user = "AWS:${world.state.issueEcrToken(identity).password}"\n`, { mode: 0o600 });
  const url = `https://${world.registryHost}/v2/${repository}/blobs/uploads/`;
  const script = [
    'set -e',
    `loc=$(curl -sS -K "$CFG" --cacert "$CA" -X POST -o /dev/null -w '%header{location}' "$URL")`,
    'case "$loc" in http*) ;; *) loc="https://$HOST$loc" ;; esac',
    // -T streams the file (--data-binary would read all of it into memory first).
    'curl -sS -K "$CFG" --cacert "$CA" -X PATCH -H "Content-Type: application/octet-stream" -T "$FILE" -o /dev/null -w "%{http_code}" "$loc"',
  ].join('\n');
  const timeFile = join(dir, 'curl-time');
  const started = performance.now();
  const result = await world.run('/usr/bin/time', ['-f', '%M', '-o', timeFile, 'sh', '-c', script], {
    env: {
      CFG: config,
      CA: world.caFile,
      URL: url,
      HOST: world.registryHost,
      FILE: file,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
    },
  });
  const wallMs = performance.now() - started;
  const rssKiB = Number((await readFile(timeFile, 'utf8')).trim().split('\n').pop());
  const parts = world.registry.log.parts.filter((p) => p.repository === repository && p.status < 300);
  const ok = result.code === 0 && result.stdout === '201';
  return row(
    c,
    'curl (the same bytes, one PATCH, no hashing)',
    bytes,
    wallMs,
    rssKiB * 1024,
    ok ? 0 : result.code,
    parts,
    [],
    ok ? '' : `failed: ${firstLine(result.stderr) || result.stdout}`,
  );
}

async function sparse(dir: string, size: number): Promise<{ bytes: number; flags: string[] }> {
  const model = join(dir, 'model');
  await mkdir(model);
  await writeFile(join(model, 'config.json'), '{"architectures": ["LlamaForCausalLM"]}');
  const file = join(model, 'model.bin');
  await (await open(file, 'w')).close();
  await truncate(file, size);
  return { bytes: size, flags: [] };
}

async function manyFiles(dir: string, count: number, size: number): Promise<{ bytes: number; flags: string[] }> {
  const model = join(dir, 'model');
  await mkdir(model);
  for (let i = 0; i < count; i++)
    await writeFile(join(model, `shard-${String(i).padStart(4, '0')}.bin`), randomFillSync(Buffer.alloc(size)));
  return { bytes: count * size, flags: ['--layer-threshold', '512KiB'] };
}

/** The busybox base, pushed into the double's store through a loopback port of this process. */
async function seedBase(world: EcrWorld, identity: Identity): Promise<string> {
  world.state.addRepository(world.account, 'base/busybox');
  return world.onLoopback(async ({ host }) => {
    const seeded = await pushBusyboxBase({
      host,
      url: `http://${host}`,
      username: 'AWS',
      password: world.state.issueEcrToken(identity).password,
      dataDir: ROOT,
      stop: () => Promise.resolve(),
    });
    return seeded.reference.replace(/^[^/]+/, world.registryHost);
  });
}

/** Every model file read back from the registry and compared byte for byte with the model dir. */
async function readBack(world: EcrWorld, identity: Identity, repository: string, model: string): Promise<string> {
  const files = await world.onLoopback(({ host, storageUrl }) =>
    imageFiles(`http://${host}`, storageUrl, world.state.issueEcrToken(identity).password, repository, 'v1'),
  );
  const names = await readdir(model);
  let same = 0;
  for (const name of names)
    if (files.get(`models/${name}`)?.equals(await readFile(join(model, name))) === true) same += 1;
  return `read back: ${same} of ${names.length} files byte for byte`;
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.startsWith('error:') || l.startsWith('curl:')) ?? '').replace(/\|/g, '\\|');
}
