import type { PushEvent } from '../registry/push.ts';
import type { Terminal } from '../output/terminal.ts';

/**
 * A push with its progress view, started only once `outputs` are known to be writable: an output
 * that cannot be written fails before the first request, with nothing pushed. Progress never shares
 * stdout with the result, so `$(preflight push …)` captures just the reference.
 */
export async function withProgress<T>(
  term: Terminal,
  toStdout: boolean,
  outputs: readonly { readonly flag: string; readonly path: string | undefined }[],
  work: (onEvent: (event: PushEvent) => void) => Promise<T>,
): Promise<T> {
  const [{ createPushProgress }, { probeOutputFiles }] = await Promise.all([
    import('../output/push-progress.ts'),
    import('../util/atomic-file.ts'),
  ]);
  await probeOutputFiles(outputs);
  const progress = await createPushProgress(term, term.interactive && toStdout ? 'stdout' : 'stderr');
  try {
    return await work((event) => {
      progress.onEvent(event);
    });
  } finally {
    await progress.end();
  }
}

/** Write the pipeline outputs that name the pushed image: shared (0644), the next step may run as another uid, and a digest is no secret. */
export async function writeSharedOutputs(
  outputs: readonly { readonly path: string | undefined; readonly text: string }[],
): Promise<void> {
  const { SHARED_FILE, writeFileAtomic } = await import('../util/atomic-file.ts');
  for (const { path, text } of outputs) if (path !== undefined) await writeFileAtomic(path, text, SHARED_FILE);
}

/**
 * `push` and `modelcar build`: the push with its progress, then its outputs: --digest-file (probed
 * before the push, written after it) and stdout (the reference, or the whole result as JSON).
 */
export async function pushWithOutputs(
  term: Terminal,
  values: { readonly output: 'text' | 'json'; readonly digestFile: string | undefined },
  work: (onEvent: (event: PushEvent) => void) => Promise<{ readonly reference: string }>,
): Promise<void> {
  const { renderPushed } = await import('../output/pushed.ts');
  const result = await withProgress(
    term,
    values.output === 'text',
    [{ flag: '--digest-file', path: values.digestFile }],
    work,
  );
  await writeSharedOutputs([{ path: values.digestFile, text: `${result.reference}\n` }]);
  term.out(renderPushed(result, values.output));
}
