import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { readme } from '../support/readme.ts';

/**
 * Issue 14: the README said `run` takes every `modelcar build` flag, but run has no --digest-file.
 * The paragraph after `<!-- run-flags … -->` now says which build flags run lacks ("except …:") and
 * names every flag run adds; this holds it to both commands' --help, whatever the CLI declares.
 */
const MARKER = '<!-- run-flags:';

/** Long flags of a command, from its --help; `-o` style short flags map to their long form. */
async function helpFlags(command: readonly string[]): Promise<{ long: Set<string>; short: Map<string, string> }> {
  const result = await runCli([...command, '--help']);
  expect(result.code, result.stderr).toBe(0);
  const long = new Set<string>();
  const short = new Map<string, string>();
  for (const [, s, l] of result.stdout.matchAll(/^ {2}(?:(-\w), )?(--[\w-]+)/gm)) {
    if (l === undefined) continue;
    long.add(l);
    if (s !== undefined) short.set(s, l);
  }
  long.delete('--help');
  return { long, short };
}

/** The paragraph after the marker: the flags it says run lacks, and every other flag it names. */
function paragraph(): { except: string[]; named: string[] } {
  const text = readme();
  const start = text.indexOf(MARKER);
  if (start < 0) throw new Error(`README.md has no ${MARKER}`);
  const body = text.slice(text.indexOf('\n', start) + 1).split('\n\n')[0] ?? '';
  const flags = (s: string): string[] => [...s.matchAll(/`(-{1,2}[\w-]+)/g)].map((m) => m[1] ?? '');
  const except = /except (.*?):/s.exec(body)?.[1] ?? '';
  return { except: flags(except), named: flags(body.replace(except, '')) };
}

describe('README: what preflight run takes (issue 14)', () => {
  it('run has every modelcar build flag but the ones the README excepts, and exactly the additions it names', async () => {
    const [build, run] = await Promise.all([helpFlags(['modelcar', 'build']), helpFlags(['run'])]);
    const { except, named } = paragraph();
    const long = (flag: string): string => run.short.get(flag) ?? build.short.get(flag) ?? flag;
    for (const flag of except) {
      expect(build.long, `${flag} is a modelcar build flag`).toContain(flag);
      expect(run.long, `run has no ${flag}`).not.toContain(flag);
    }
    const namedLong = new Set(named.map(long));
    for (const flag of namedLong) expect(run.long, `the README names ${flag}, which run does not have`).toContain(flag);
    const inherited = [...build.long].filter((f) => !except.includes(f));
    expect(
      inherited.filter((f) => !run.long.has(f)),
      'build flags run lacks but the README does not except',
    ).toEqual([]);
    const added = [...run.long].filter((f) => !build.long.has(f));
    expect(
      added.filter((f) => !namedLong.has(f)),
      'run flags the README does not name',
    ).toEqual([]);
  });
});
