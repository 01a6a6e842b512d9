// npm run bench -- modelcar [--total 2GiB[,…]] [--files 4] [--dir PATH]
// (a) preflight modelcar build vs (b) skopeo (base → OCI layout) + umoci insert + skopeo copy and
// (c) buildah from + copy + commit with the vfs driver (when buildah is installed: apt-get install
// buildah), into a fresh local docker-registry; then (d) an unchanged re-push with each.
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushBusyboxBase } from '../../test/support/busybox-base.ts';
import { startRegistry } from '../../test/support/registry.ts';
import { type Measurement, measure, run } from './measure.ts';
import { curlBaseline } from './push.ts';
import { type BenchRow, formatRow, parseSizes } from './table.ts';
import * as v from 'valibot';

const reportSchema = v.object({ model: v.object({ bytes: v.number(), bytesRead: v.number() }) });

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'preflight.js');

export async function benchModelcar(argv: readonly string[]): Promise<BenchRow[]> {
  const flag = (name: string, fallback: string): string => {
    const at = argv.indexOf(name);
    return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
  };
  const totals = parseSizes(flag('--total', '2GiB'));
  const files = Number(flag('--files', '4'));
  const base = flag('--dir', join(ROOT, '.bench'));
  const rows: BenchRow[] = [];
  for (const total of totals) {
    const dir = join(base, `modelcar-${total}`);
    await rm(dir, { recursive: true, force: true });
    const model = join(dir, 'model');
    const weights = await makeModel(model, files, Math.floor(total / files));
    const registry = await startRegistry({ storage: 'disk' });
    try {
      const baseImage = await pushBusyboxBase(registry);
      const cache = join(dir, 'cache');
      const preflight = (tag: string): Promise<Measurement> =>
        measure(process.execPath, [
          CLI,
          'modelcar',
          'build',
          '--model-dir',
          model,
          '--image',
          `${registry.host}/bench/preflight:${tag}`,
          '--base',
          baseImage.reference,
          '--cache-dir',
          cache,
          '--output',
          'json',
        ]);
      // The peer pipeline keeps its OCI layout under TMPDIR: that is the temp disk it needs.
      const peer = (tag: string): Promise<Measurement> =>
        measure('bash', [
          '-c',
          [
            'set -e',
            'L="$TMPDIR/layout"',
            `skopeo --insecure-policy --tmpdir "$TMPDIR" copy --src-tls-verify=false docker://${baseImage.reference} "oci:$L:${tag}"`,
            `umoci insert --image "$L:${tag}" '${model}' /models`,
            `skopeo --insecure-policy --tmpdir "$TMPDIR" copy --dest-tls-verify=false "oci:$L:${tag}" docker://${registry.host}/bench/umoci:${tag}`,
          ].join('\n'),
        ]);
      // buildah keeps its storage (a full copy of base and model) under TMPDIR; layers uncompressed like preflight's.
      const buildah = (tag: string): Promise<Measurement> =>
        measure('bash', [
          '-c',
          [
            'set -e',
            'S="--root $TMPDIR/root --runroot $TMPDIR/run --storage-driver vfs"',
            `C=$(buildah $S from --tls-verify=false docker://${baseImage.reference})`,
            `buildah $S copy "$C" '${model}' /models >/dev/null`,
            `buildah $S commit --disable-compression --tls-verify=false "$C" docker://${registry.host}/bench/buildah:${tag} >/dev/null`,
            'buildah $S rm --all >/dev/null',
          ].join('\n'),
        ]);
      const hasBuildah = await commandExists('buildah');
      if (!hasBuildah) process.stderr.write('buildah is not installed: (c) skipped (apt-get install buildah)\n');
      const push = async (tool: string, source: string, run: () => Promise<Measurement>): Promise<void> => {
        const row = { total, tool, source, m: await run() };
        rows.push(row);
        process.stderr.write(`${formatRow(row, rows)}\n`);
      };
      await push('curl PUT ×4 (ceiling)', 'weights', async () => {
        const fresh = await startRegistry({ storage: 'disk' });
        try {
          return await curlBaseline(fresh.host, weights);
        } finally {
          await fresh.stop();
        }
      });
      await push('preflight modelcar build', 'first push', () => preflight('v1'));
      await push('skopeo + umoci insert + skopeo', 'first push', () => peer('v1'));
      if (hasBuildah) await push('buildah (vfs) from + copy + commit', 'first push', () => buildah('v1'));
      // A re-push takes a few hundred ms, where one run's noise is tens of ms: report the median of 5.
      await push('preflight modelcar build (median of 5)', 'unchanged re-push', () =>
        medianOf(5, () => preflight('v2')),
      );
      await push('skopeo + umoci insert + skopeo', 'unchanged re-push', () => peer('v2'));
      if (hasBuildah) await push('buildah (vfs) from + copy + commit', 'unchanged re-push', () => buildah('v2'));
      // Each run needs its own chmod: a re-hashed layer's digest goes under the new ctime, so the next run would hit it.
      await push('preflight modelcar build (median of 3)', 're-push after chmod', () =>
        medianOf(3, () => chmodInPlace(model).then(() => preflight('v3'))),
      );
      await push('preflight modelcar build (median of 3)', 'chmod, cold cache', () =>
        medianOf(3, () =>
          chmodInPlace(model)
            .then(() => dropCached(model))
            .then(() => preflight('v4')),
        ),
      );
      const reports = rows
        .filter((r) => r.total === total && r.tool.startsWith('preflight'))
        .map((r) => v.parse(reportSchema, JSON.parse(r.m.stdout)));
      process.stderr.write(
        `preflight model bytes read (first push, re-push, after chmod warm and cold): ${reports.map((r) => `${r.model.bytesRead} of ${r.model.bytes}`).join(', ')}\n`,
      );
    } finally {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

async function medianOf(runs: number, once: () => Promise<Measurement>): Promise<Measurement> {
  const all: Measurement[] = [];
  for (let i = 0; i < runs; i++) all.push(await once());
  all.sort((a, b) => a.wallMs - b.wallMs);
  const median = all[Math.floor(runs / 2)];
  if (median === undefined) throw new Error('no runs');
  return {
    ...median,
    peakRss: Math.max(...all.map((m) => m.peakRss)),
    peakTemp: Math.max(...all.map((m) => m.peakTemp)),
  };
}

/** chmod every model file to the mode it has: content, size, mtime and inode stay, ctime moves. */
async function chmodInPlace(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await chmod(join(dir, name), (await stat(join(dir, name))).mode & 0o7777);
}

/** Drop the model's pages from the page cache (posix_fadvise DONTNEED via dd), so the next read comes from disk. */
async function dropCached(dir: string): Promise<void> {
  for (const name of await readdir(dir))
    await run('dd', [`if=${join(dir, name)}`, 'iflag=nocache', 'count=0', 'status=none']);
}

async function commandExists(name: string): Promise<boolean> {
  try {
    await run('bash', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

/** `files` random (incompressible) weight files plus the small json files a Hugging Face model has. */
async function makeModel(dir: string, files: number, size: number): Promise<{ path: string; digest: string }[]> {
  await mkdir(dir, { recursive: true });
  const weights: { path: string; digest: string }[] = [];
  for (let i = 1; i <= files; i++) {
    const path = join(dir, `model-${String(i).padStart(5, '0')}-of-${String(files).padStart(5, '0')}.safetensors`);
    const out = createWriteStream(path);
    const hash = createHash('sha256');
    for (let written = 0; written < size; written += 4 * 2 ** 20) {
      const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(4 * 2 ** 20, size - written)));
      hash.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    weights.push({ path, digest: `sha256:${hash.digest('hex')}` });
  }
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ architectures: ['MistralForCausalLM'], hidden_size: 5120 }),
  );
  await writeFile(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      model: { vocab: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`t${i}`, i])) },
    }),
  );
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ temperature: 0.7 }));
  return weights;
}
