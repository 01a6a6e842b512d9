// npm run bench -- push [--total 2GiB[,4GiB…]] [--layers 4] [--dir PATH]
// preflight push vs skopeo copy, from an OCI layout and from an oci-archive, into a fresh local
// docker-registry per run; a 4-way parallel curl monolithic PUT of the same layers is the ceiling.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../../test/support/registry.ts';
import { makeLayout, type Layout } from './fixtures.ts';
import { type Measurement, measure, run } from './measure.ts';
import { type BenchRow, formatRow, parseSizes } from './table.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'preflight.js');

export async function benchPush(argv: readonly string[]): Promise<BenchRow[]> {
  const flag = (name: string, fallback: string): string => {
    const at = argv.indexOf(name);
    return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
  };
  const totals = parseSizes(flag('--total', '2GiB'));
  const layers = Number(flag('--layers', '4'));
  const base = flag('--dir', join(ROOT, '.bench'));
  const rows: BenchRow[] = [];
  for (const total of totals) {
    const dir = join(base, `push-${total}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    process.stderr.write(`preparing ${layers} random layers of ${total / layers} bytes in ${dir}\n`);
    const layout = await makeLayout(dir, layers, Math.floor(total / layers));
    try {
      rows.push({
        total,
        tool: 'curl PUT ×4 (ceiling)',
        source: 'files',
        m: await withRegistry((host) => curlBaseline(host, layerBlobs(layout))),
      });
      for (const [source, spec, skopeoSpec] of [
        ['oci layout', `oci:${layout.dir}:bench`, `oci:${layout.dir}:bench`],
        ['oci-archive', `oci-archive:${layout.archive}`, `oci-archive:${layout.archive}`],
      ] as const) {
        rows.push({
          total,
          tool: 'preflight push',
          source,
          m: await withRegistry((host) => measure(process.execPath, [CLI, 'push', spec, `${host}/bench/preflight:v1`])),
        });
        rows.push({
          total,
          tool: 'skopeo copy',
          source,
          // --tmpdir: skopeo puts big temp files in /var/tmp unless told; point it at the measured TMPDIR.
          m: await withRegistry((host) =>
            measure('bash', [
              '-c',
              `exec skopeo --insecure-policy --tmpdir "$TMPDIR" copy --preserve-digests --dest-tls-verify=false '${skopeoSpec}' 'docker://${host}/bench/skopeo:v1'`,
            ]),
          ),
        });
        process.stderr.write(
          `${rows
            .slice(-2)
            .map((r) => formatRow(r, rows))
            .join('\n')}\n`,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function layerBlobs(layout: Layout): { path: string; digest: string }[] {
  return layout.layerFiles.map((path) => ({ path, digest: `sha256:${path.split('/').pop() ?? ''}` }));
}

/** A fresh registry for every run, so no tool finds the blobs of the one before. */
async function withRegistry(body: (host: string) => Promise<Measurement>): Promise<Measurement> {
  const registry = await startRegistry({ storage: 'disk' });
  try {
    return await body(registry.host);
  } finally {
    await registry.stop();
  }
}

/** Monolithic PUTs of the files, all at once: what the registry can ingest at best. */
export async function curlBaseline(
  host: string,
  files: readonly { readonly path: string; readonly digest: string }[],
): Promise<Measurement> {
  const script = files
    .map(({ path: file, digest }) => {
      return `(loc=$(curl -fsS -X POST -D - -o /dev/null http://${host}/v2/bench/curl/blobs/uploads/ | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); curl -fsS -X PUT -H 'Content-Type: application/octet-stream' -T '${file}' "$loc&digest=${digest}") &`;
    })
    .join('\n');
  const m = await measure('bash', ['-c', `set -e\n${script}\nwait`]);
  // Prove the registry really holds the blobs, or the baseline would flatter it.
  for (const { digest } of files) await run('curl', ['-fsS', '-I', `http://${host}/v2/bench/curl/blobs/${digest}`]);
  return m;
}
