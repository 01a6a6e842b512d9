import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CheckResult, fail, pass, skip, warn } from '../../src/plugin.ts';
import { loadChecks } from '../../src/runner/plugins.ts';
import { type RunEvent, type RunOptions, runChecks } from '../../src/runner/run.ts';
import { fakeContext } from '../support/context.ts';
import { gate, stubCheck } from '../support/checks.ts';
import { testdir } from '../support/testdir.ts';

const context = fakeContext();

function options(overrides: Partial<RunOptions>): RunOptions {
  return { checks: [], context, concurrency: 4, timeoutMs: 30_000, signal: new AbortController().signal, ...overrides };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('runChecks', () => {
  it('returns outcomes in check order, whatever order they finish in', async () => {
    const first = gate();
    const checks = [
      stubCheck('slow', async () => {
        await first.promise;
        return pass('slow done');
      }),
      stubCheck('fast', () => {
        first.open(undefined);
        return Promise.resolve(warn('fast done', { remediation: 'r' }));
      }),
    ];
    const events: string[] = [];
    const report = await runChecks(
      options({
        checks,
        onEvent: (e) => events.push(`${e.type}:${e.type === 'start' ? e.check.id : e.outcome.check.id}`),
      }),
    );
    expect(report.outcomes.map((o) => [o.check.id, o.result.status])).toEqual([
      ['slow', 'pass'],
      ['fast', 'warn'],
    ]);
    expect(events).toEqual(['start:slow', 'start:fast', 'finish:fast', 'finish:slow']);
    expect(report.aborted).toBe(false);
  });

  it.each([1, 2, 3])('never runs more than %i checks at once', async (concurrency) => {
    let running = 0;
    let peak = 0;
    const gates = Array.from({ length: 6 }, () => gate());
    const checks = gates.map((g, i) =>
      stubCheck(`c${i}`, async () => {
        running += 1;
        peak = Math.max(peak, running);
        await g.promise;
        running -= 1;
        return pass('ok');
      }),
    );
    const started: string[] = [];
    const done = runChecks(
      options({ checks, concurrency, onEvent: (e: RunEvent) => e.type === 'start' && started.push(e.check.id) }),
    );
    // Release the checks one by one, each only after the runner has had a chance to start more.
    for (const g of gates) {
      await vi.waitFor(() => expect(started.length).toBeGreaterThan(0));
      g.open(undefined);
      await Promise.resolve();
    }
    const report = await done;
    expect(peak).toBe(concurrency);
    expect(report.outcomes.every((o) => o.result.status === 'pass')).toBe(true);
  });

  it('fails a hanging check with "timed out after 15s" and lets the others finish', async () => {
    vi.useFakeTimers();
    let sawAbort = false;
    const checks = [
      stubCheck('hangs', (ctx) => {
        ctx.signal.addEventListener('abort', () => (sawAbort = true));
        return new Promise(() => undefined);
      }),
      stubCheck('quick', pass('fine')),
    ];
    const done = runChecks(options({ checks, timeoutMs: 15_000 }));
    await vi.advanceTimersByTimeAsync(15_000);
    const report = await done;
    const [hangs, quick] = report.outcomes;
    expect(hangs?.result).toMatchObject({ status: 'fail', message: 'timed out after 15s' });
    expect(hangs?.result.status === 'fail' && hangs.result.remediation).toContain('--timeout');
    expect(sawAbort).toBe(true);
    expect(quick?.result).toEqual(pass('fine'));
  });

  it('on abort keeps finished results, interrupts running checks and never starts queued ones', async () => {
    const controller = new AbortController();
    const running = gate();
    let signalSeen: AbortSignal | undefined;
    const checks = [
      stubCheck('done-first', pass('finished')),
      stubCheck('running', async (ctx) => {
        signalSeen = ctx.signal;
        running.open(undefined);
        return new Promise(() => undefined);
      }),
      stubCheck('queued', pass('never')),
    ];
    const done = runChecks(options({ checks, concurrency: 1, signal: controller.signal }));
    await running.promise;
    controller.abort('interrupted by SIGINT');
    const report = await done;
    expect(report.aborted).toBe(true);
    expect(report.outcomes.map((o) => o.result)).toEqual([
      pass('finished'),
      skip('interrupted: interrupted by SIGINT'),
      skip('not run: interrupted by SIGINT'),
    ]);
    expect(signalSeen?.aborted).toBe(true);
  });

  it('turns a thrown error into a fail that names the origin and keeps the error', async () => {
    const boom = new Error('boom');
    const checks = [stubCheck('crashes', () => Promise.reject(boom))];
    const report = await runChecks(options({ checks, origin: () => 'plugin ./team.js' }));
    const [outcome] = report.outcomes;
    expect(outcome?.result).toMatchObject({ status: 'fail', message: 'check crashed: boom' });
    expect(outcome?.result.status === 'fail' && outcome.result.remediation).toContain('plugin ./team.js');
    expect(outcome?.error).toBe(boom);
  });

  it.each([
    [
      'pod check in a laptop run',
      { scope: 'pod' as const },
      'laptop' as const,
      /runs in pod scope only; this run is laptop/,
    ],
    [
      'laptop check in a pod run',
      { scope: 'laptop' as const },
      'pod' as const,
      /runs in laptop scope only; this run is pod/,
    ],
    ['appliesTo reason', { appliesTo: () => 'no ECR URI configured' }, 'laptop' as const, /^no ECR URI configured$/],
    ['appliesTo false', { appliesTo: () => false }, 'laptop' as const, /^does not apply here$/],
  ])('skips a %s with the reason', async (_name, extra, scope, reason) => {
    let ran = false;
    const check = stubCheck(
      'x',
      () => {
        ran = true;
        return Promise.resolve(fail('ran', { remediation: 'r' }));
      },
      extra,
    );
    const report = await runChecks(options({ checks: [check], context: { ...context, scope } }));
    const result = report.outcomes[0]?.result;
    expect(result?.status).toBe('skip');
    expect(result?.status === 'skip' && result.reason).toMatch(reason);
    expect(ran).toBe(false);
  });

  it('runs an any-scope check in both scopes', async () => {
    for (const scope of ['laptop', 'pod'] as const) {
      const report = await runChecks(
        options({ checks: [stubCheck('any', pass('ran'))], context: { ...context, scope } }),
      );
      expect(report.outcomes[0]?.result).toEqual(pass('ran'));
    }
  });
});

describe('runChecks validates every result', () => {
  /** A plain-object plugin whose run() returns `result` (JS source): what a plugin without defineCheck can do. */
  async function runPlainPlugin(result: string): Promise<{ result: CheckResult; label: string }> {
    const dir = await testdir({
      'team.mjs': `export default { id: 'team-x', title: 'team', scope: 'any', inspects: 'nothing', run: async () => (${result}) };\n`,
    });
    const set = await loadChecks([], [join(dir, 'team.mjs')]);
    const report = await runChecks(options({ checks: set.checks, origin: (c) => set.origins.get(c) ?? 'built-in' }));
    const outcome = report.outcomes[0];
    if (outcome === undefined) throw new Error('no outcome');
    return { result: outcome.result, label: set.origins.get(outcome.check) ?? '' };
  }

  it.each([
    [
      'a Promise (an async appliesTo)',
      'async () => true',
      /appliesTo returned a Promise \(appliesTo must be synchronous\)/,
    ],
    ['nothing (a missing return)', '() => {}', /appliesTo returned nothing, not true, false or a reason/],
    ['a number', '() => 0', /appliesTo returned 0, not true/],
    ['an empty reason', "() => '  '", /appliesTo returned " {2}", not true/],
  ])(
    'fails a check whose appliesTo returns %s, naming the plugin, without running it',
    async (_name, appliesTo, message) => {
      const dir = await testdir({
        'team.mjs': `export let ran = false;\nexport default { id: 'team-x', title: 'team', scope: 'any', inspects: 'nothing', appliesTo: ${appliesTo}, run: async () => { ran = true; return { status: 'pass', message: 'ran' }; } };\n`,
      });
      const set = await loadChecks([], [join(dir, 'team.mjs')]);
      const report = await runChecks(options({ checks: set.checks, origin: (c) => set.origins.get(c) ?? 'built-in' }));
      const result = report.outcomes[0]?.result;
      expect(result?.status).toBe('fail');
      expect(result?.status === 'fail' && result.message).toMatch(message);
      expect(result?.status === 'fail' && result.message).toContain('team.mjs');
      expect(result?.status === 'fail' && result.remediation).toMatch(/return true to run the check/);
      // The same module instance the run used: the check's run() never set `ran`.
      const plugin: unknown = await import(pathToFileURL(join(dir, 'team.mjs')).href);
      expect(plugin).toMatchObject({ ran: false });
    },
  );

  it.each([
    ['a fail without remediation', `{ status: 'fail', message: 'quota exceeded' }`, /"fail".*"remediation"/],
    [
      'a warn with an empty remediation',
      `{ status: 'warn', message: 'cold', remediation: '' }`,
      /"warn".*"remediation"/,
    ],
    ['a remediation that is not a string', `{ status: 'fail', message: 'x', remediation: 42 }`, /"remediation"/],
    [
      'an unknown status',
      `{ status: 'ok', message: 'fine' }`,
      /"status" must be pass, warn, fail or skip \(got "ok"\)/,
    ],
    ['nothing', 'undefined', /not a result object/],
    ['a skip without reason', `{ status: 'skip' }`, /"skip".*"reason"/],
    ['a pass without message', `{ status: 'pass' }`, /"message"/],
    ['details that are not strings', `{ status: 'pass', message: 'ok', details: [1] }`, /"details"/],
  ])('turns %s into a failure naming the check and the plugin file', async (_name, result, problem) => {
    const { result: got, label } = await runPlainPlugin(result);
    expect(label).toMatch(/^plugin .*team\.mjs$/);
    expect(got.status).toBe('fail');
    if (got.status !== 'fail') return;
    expect(got.message).toMatch(/team-x/);
    expect(got.message).toContain(label);
    expect(got.message).toMatch(problem);
    expect(got.remediation).toMatch(/warn\(\), fail\(\)/);
    expect(got.remediation).not.toMatch(/bug in preflight/);
  });

  it('passes a well-formed plain-object result through unchanged', async () => {
    const { result } = await runPlainPlugin(
      `{ status: 'warn', message: 'cold', remediation: 'make warm', details: ['a'] }`,
    );
    expect(result).toEqual(warn('cold', { remediation: 'make warm', details: ['a'] }));
  });

  it('calls an invalid result of a built-in a bug in preflight', async () => {
    const set = await loadChecks(
      [],
      [
        join(
          await testdir({
            'b.mjs': `export default { id: 'b', title: 't', scope: 'any', inspects: 'i', run: async () => ({ status: 'fail', message: 'm' }) };\n`,
          }),
          'b.mjs',
        ),
      ],
    );
    const report = await runChecks(options({ checks: set.checks, origin: () => 'built-in' }));
    const result = report.outcomes[0]?.result;
    expect(result?.status === 'fail' && result.remediation).toMatch(/bug in preflight/);
  });
});
