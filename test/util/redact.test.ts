import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REDACTED, summariseForeignText } from '../../src/util/redact.ts';

describe('summariseForeignText', () => {
  it('is undefined for text without a non-empty line', () => {
    expect(summariseForeignText(' \n\t\n')).toBeUndefined();
  });

  it('removes control characters, so a helper cannot drive the terminal', () => {
    expect(summariseForeignText('\u001b[2J\u001b]0;title\u0007not logged in\r')).toBe('[2J ]0;title not logged in');
  });

  it('redacts before it cuts: a secret across the cut leaves no prefix behind', () => {
    const secret = randomBytes(48).toString('base64url');
    const summary = summariseForeignText(`${'x '.repeat(95)}${secret} trailing words`) ?? '';
    expect(summary.length).toBe(200);
    expect(summary).not.toContain(secret.slice(0, 6));
    expect(summary.slice(190)).toBe(`${REDACTED.slice(0, 9)}…`);
  });
});
