import { symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBusyboxBase } from '../support/busybox-base.ts';
import { CLI, runCommand } from '../support/cli.ts';
import { fences, readme } from '../support/readme.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

/**
 * Issue 14: the README's shell examples that can run offline, run as written, with their sample
 * output compared with the real one. The convention (described in the README's Development notes):
 * `<!-- test: offline [exit=N] [registry] -->` above a `sh` fence runs it; a `<!-- test: output -->`
 * fence right after it is the expected stdout.
 */

/** The address the README's examples use for the local registry; the test's real one replaces it. */
const README_REGISTRY = '127.0.0.1:5000';
const README_BASE = { repository: 'library/busybox', tag: '1.37' };
// A hang bound, not a speed limit: a modelcar build on two busy cores takes seconds.
const HANG_BOUND_MS = 120_000;

interface Example {
  readonly line: number;
  readonly script: string;
  readonly exit: number;
  readonly registry: boolean;
  readonly output: string | undefined;
}

/** The marked examples of a markdown text; an unknown option or a stray output block is an error. */
function examples(text: string): Example[] {
  const all = fences(text);
  const out: Example[] = [];
  all.forEach((fence, i) => {
    const marker = fence.marker ?? '';
    if (marker === 'test: output') {
      if (!(all[i - 1]?.marker ?? '').startsWith('test: offline'))
        throw new Error(`README.md:${fence.line}: an output block that follows no test: offline block`);
      return;
    }
    const options = /^test: offline\b(.*)$/.exec(marker)?.[1]?.trim().split(/\s+/).filter(Boolean);
    if (options === undefined) return;
    if (fence.lang !== 'sh') throw new Error(`README.md:${fence.line}: test: offline marks a ${fence.lang} block`);
    let exit = 0;
    let registry = false;
    for (const option of options) {
      const code = /^exit=(\d+)$/.exec(option)?.[1];
      if (code !== undefined) exit = Number(code);
      else if (option === 'registry') registry = true;
      else throw new Error(`README.md:${fence.line}: unknown test option ${option}`);
    }
    const next = all[i + 1];
    const output = next?.marker === 'test: output' ? next.body : undefined;
    out.push({ line: fence.line, script: fence.body, exit, registry, output });
  });
  return out;
}

/** What may differ between the README's run and this one: durations, digests, the registry's port, trailing blanks. */
function normalise(text: string, registryHost?: string): string {
  const out = registryHost === undefined ? text : text.replaceAll(registryHost, README_REGISTRY);
  return out
    .replace(/sha256:[0-9a-f]{64}/g, 'sha256:<digest>')
    .replace(/\b(?:\d+(?:h|ms|m|s))+\b/g, '<duration>')
    .replace(/[ \t]+$/gm, '')
    .trimEnd();
}

const marked = examples(readme());
let registry: RegistryHandle | undefined;

beforeAll(async () => {
  if (!marked.some((e) => e.registry)) return;
  registry = await startRegistry();
  await pushBusyboxBase(registry, README_BASE.repository, README_BASE.tag);
});

afterAll(async () => {
  await registry?.stop();
});

async function run(example: Example): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cwd, home, bin] = await Promise.all([testdir(), testdir(), testdir()]);
  // `preflight` as an install puts it on PATH, and the Node 24 this suite runs on before the machine's.
  await symlink(CLI, join(bin, 'preflight'));
  const host = registry?.host;
  const script =
    example.registry && host !== undefined ? example.script.replaceAll(README_REGISTRY, host) : example.script;
  return runCommand('sh', ['-e', '-c', script], {
    cwd,
    env: {
      PATH: [bin, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
      HOME: home,
      NO_COLOR: '1',
    },
    killAfterMs: HANG_BOUND_MS,
  });
}

describe('README examples, run as written (issue 14)', { timeout: HANG_BOUND_MS + 30_000 }, () => {
  it('marks a version, a check, a diagnose and a push to a local registry', () => {
    const scripts = marked.map((e) => e.script);
    for (const command of [
      /^preflight --version$/m,
      /preflight check /,
      /\| preflight diagnose/,
      /preflight (modelcar build|push) /,
    ])
      expect(
        scripts.some((s) => command.test(s)),
        String(command),
      ).toBe(true);
    expect(marked.filter((e) => e.registry).every((e) => e.script.includes(README_REGISTRY))).toBe(true);
  });

  it.each(marked.map((e) => [e.line, e] as const))(
    'README.md:%i runs, with the output it shows',
    async (_line, example) => {
      const result = await run(example);
      expect(result.code, `exit code; stderr:\n${result.stderr}`).toBe(example.exit);
      if (example.output !== undefined)
        expect(normalise(result.stdout, registry?.host)).toBe(normalise(example.output));
    },
  );
});

describe('the README example reader', () => {
  it('pairs a marked block with the output block after it, and reads its options', () => {
    const text = [
      '<!-- test: offline exit=3 registry -->',
      '```sh',
      'preflight check',
      '```',
      '',
      '<!-- test: output -->',
      '```text',
      'FAIL',
      '```',
      '',
      '```sh',
      'not marked',
      '```',
    ].join('\n');
    expect(examples(text)).toEqual([{ line: 2, script: 'preflight check', exit: 3, registry: true, output: 'FAIL' }]);
  });

  it.each([
    ['an unknown option', '<!-- test: offline network -->\n```sh\nx\n```\n'],
    ['an output block without its command', '<!-- test: output -->\n```text\nx\n```\n'],
    ['a marked block that is not sh', '<!-- test: offline -->\n```yaml\nx\n```\n'],
  ])('refuses %s', (_name, text) => {
    expect(() => examples(text)).toThrow(/README\.md:\d+/);
  });

  it('normalises durations, digests and the registry port, nothing else', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(normalise(`127.0.0.1:41234/team/m@${digest} in 42ms, 1m2s; 48GiB v1 0.1.0`, '127.0.0.1:41234')).toBe(
      '127.0.0.1:5000/team/m@sha256:<digest> in <duration>, <duration>; 48GiB v1 0.1.0',
    );
  });
});
