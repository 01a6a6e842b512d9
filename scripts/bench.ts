// npm run bench -- <push|modelcar|ecr> [flags]: benchmarks against real tools on this machine; never run in CI tests.
import { benchEcr } from './bench/ecr.ts';
import { benchModelcar } from './bench/modelcar.ts';
import { benchPush } from './bench/push.ts';
import { renderTable } from './bench/table.ts';

const [name, ...rest] = process.argv.slice(2);
const benches: Record<string, (argv: readonly string[]) => Promise<string>> = {
  push: async (argv) => renderTable(await benchPush(argv)),
  modelcar: async (argv) => renderTable(await benchModelcar(argv)),
  ecr: benchEcr,
};
const bench = name === undefined ? undefined : benches[name];
if (bench === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [flags]\n`);
  process.exitCode = 2;
} else {
  process.stdout.write(`${await bench(rest)}\n`);
}
