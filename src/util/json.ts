/**
 * The one parser for JSON that someone else wrote: archives, layouts, registry answers, credential
 * files, helper output. V8's SyntaxError quotes the text around the fault ("root:$6$…" is not valid
 * JSON), and that text may be a password or another user's file: the problem named here keeps only
 * the position, never the content.
 */
export type JsonResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

export function parseUntrustedJson(input: string | Buffer): JsonResult {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    // RangeError: nesting too deep for the parser's stack. Anything else is a bug, not bad input.
    if (!(error instanceof SyntaxError) && !(error instanceof RangeError)) throw error;
    const at = /at position \d+(?: \(line \d+ column \d+\))?/.exec(error.message)?.[0];
    const end = /Unexpected end of JSON input/.test(error.message) ? 'it ends too early' : undefined;
    return {
      ok: false,
      problem: `not valid JSON${at === undefined ? (end === undefined ? '' : ` (${end})`) : ` (${at})`}`,
    };
  }
}

/** {@link parseUntrustedJson}, throwing `fail(problem)` for text that is not JSON. */
export function untrustedJson(input: string | Buffer, fail: (problem: string) => Error): unknown {
  const result = parseUntrustedJson(input);
  if (!result.ok) throw fail(result.problem);
  return result.value;
}
