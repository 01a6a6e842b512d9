import { ProcessOutput } from 'listr2';
import { describe, expect, it } from 'vitest';
import { createListrProgress } from '../../src/output/listr-progress.ts';
import { fail, pass, skip, warn } from '../../src/plugin.ts';
import type { CheckOutcome } from '../../src/runner/run.ts';
import { stubCheck } from '../support/checks.ts';

/** Collects what listr2 writes, instead of a terminal. */
class CapturedOutput extends ProcessOutput {
  text = '';

  override toStdout(buffer: string, eol = true): boolean {
    this.text += buffer + (eol ? '\n' : '');
    return true;
  }

  override toStderr(buffer: string, eol = true): boolean {
    return this.toStdout(buffer, eol);
  }
}

describe('listr progress adapter', () => {
  it('mirrors runner events: start, then pass / warn / fail / skip with the skip reason', async () => {
    const checks = ['a', 'b', 'c', 'd'].map((id) => stubCheck(id, pass('x')));
    const results = [
      pass('fine'),
      warn('meh', { remediation: 'r' }),
      fail('broken', { remediation: 'r' }),
      skip('not here'),
    ];
    const output = new CapturedOutput();
    const progress = createListrProgress(checks, { renderer: 'test', processOutput: output });
    const outcomes: CheckOutcome[] = checks.map((check, i) => ({
      check,
      result: results[i] ?? pass('x'),
      durationMs: 1,
    }));
    for (const outcome of outcomes.slice(0, 3)) {
      progress.onEvent({ type: 'start', check: outcome.check });
      progress.onEvent({ type: 'finish', outcome });
    }
    // The last check never produced events (as after Ctrl-C): end() settles it from the report.
    await progress.end({ outcomes, aborted: false });
    // The test renderer writes one JSON event per line; keep what a user would see per task.
    const events = output.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => parseEvent(line));
    const final = (task: string): string[] =>
      events
        .filter((e) => e.path === `stub ${task} (queued)` && e.event !== 'TITLE')
        .map((e) => `${e.event}:${e.data}:${e.title}`);
    expect(final('a')).toEqual(['STATE:STARTED:stub a (queued)', 'STATE:COMPLETED:stub a: fine']);
    expect(final('b')).toEqual(['STATE:STARTED:stub b (queued)', 'STATE:COMPLETED:stub b: warning: meh']);
    expect(final('c')).toEqual([
      'STATE:STARTED:stub c (queued)',
      'STATE:FAILED:stub c: broken',
      'MESSAGE:{"error":"stub c: broken"}:stub c: broken',
    ]);
    expect(final('d')).toEqual([
      'STATE:STARTED:stub d (queued)',
      'STATE:SKIPPED:stub d',
      'MESSAGE:{"skip":"stub d: not here"}:stub d',
    ]);
  });
});

function parseEvent(line: string): { event: string; data: string; title: string; path: string } {
  const parsed: unknown = JSON.parse(line);
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('event' in parsed) ||
    !('data' in parsed) ||
    !('task' in parsed)
  )
    throw new Error(`unexpected event ${line}`);
  const task = parsed.task;
  const title = typeof task === 'object' && task !== null && 'title' in task ? String(task.title) : '';
  const path =
    typeof task === 'object' && task !== null && 'path' in task && Array.isArray(task.path)
      ? task.path.map(String).join('/')
      : '';
  const data = typeof parsed.data === 'string' ? parsed.data : JSON.stringify(parsed.data);
  return { event: String(parsed.event), data, title, path };
}
