// npm run bench -- <push|…> [flags]: benchmarks against real tools on this machine; never run in CI tests.
import { benchModelcar } from './bench/modelcar.ts';
import { benchPush } from './bench/push.ts';
import { renderTable } from './bench/table.ts';

const [name, ...rest] = process.argv.slice(2);
const benches: Record<string, (argv: readonly string[]) => Promise<Parameters<typeof renderTable>[0]>> = { push: benchPush, modelcar: benchModelcar };
const bench = name === undefined ? undefined : benches[name];
if (bench === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [flags]\n`);
  process.exitCode = 2;
} else {
  const rows = await bench(rest);
  process.stdout.write(`${renderTable(rows)}\n`);
}
