import type { ModelcarBuildResult } from '../commands/modelcar-build.ts';
import type { PushEvent } from '../registry/push.ts';
import type { Terminal } from '../output/terminal.ts';
import { type ModelcarFlags, parseModelcarFlags } from './modelcar-command.ts';
import { type PushFlags, parsePushNumbers } from './push-command.ts';

/** What both pushing commands print: the reference on stdout (or JSON), and the digest file. */
interface Pushed {
  readonly reference: string;
}

export async function withProgress<T extends Pushed>(
  term: Terminal,
  output: 'text' | 'json',
  digestFile: string | undefined,
  work: (onEvent: (event: PushEvent) => void) => Promise<T>,
): Promise<T> {
  const [{ createPushProgress }, { probeOutputFiles, SHARED_FILE, writeFileAtomic }] = await Promise.all([
    import('../output/push-progress.ts'),
    import('../util/atomic-file.ts'),
  ]);
  // Before the first request: a digest file that cannot be written fails now, with nothing pushed.
  await probeOutputFiles([{ flag: '--digest-file', path: digestFile }]);
  // Progress never shares stdout with the result: `$(preflight push …)` captures just the reference.
  const progress = await createPushProgress(term, term.interactive && output === 'text' ? 'stdout' : 'stderr');
  let result: T;
  try {
    result = await work((event) => {
      progress.onEvent(event);
    });
  } finally {
    await progress.end();
  }
  // Shared: the next pipeline step may run as another uid, and a digest is no secret.
  if (digestFile !== undefined) await writeFileAtomic(digestFile, `${result.reference}\n`, SHARED_FILE);
  term.out(
    output === 'json' ? `${JSON.stringify({ schemaVersion: 1, ...result }, null, 2)}\n` : `${result.reference}\n`,
  );
  return result;
}

export async function runPush(
  source: string,
  destination: string,
  flags: PushFlags,
  term: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const numbers = parsePushNumbers(flags);
  const { push } = await import('../commands/push.ts');
  await withProgress(term, flags.output, flags.digestFile, (onEvent) =>
    push({
      source,
      destination,
      uploadMode: flags.uploadMode,
      ...numbers,
      insecureRegistries: flags.insecureRegistry,
      caFile: flags.caFile,
      env: term.io.env,
      log: term,
      signal,
      onEvent,
    }),
  );
  return 0;
}

export async function runModelcarBuild(flags: ModelcarFlags, term: Terminal, signal: AbortSignal): Promise<number> {
  // The contract is checked before any upload: a breach throws (exit 2, nothing pushed).
  await buildAndPushModelcar(flags, term, signal);
  return 0;
}

/** The build with progress, the result printed and the digest file written; shared by `modelcar build` and `run`. */
export async function buildAndPushModelcar(
  flags: ModelcarFlags,
  term: Terminal,
  signal: AbortSignal,
): Promise<ModelcarBuildResult> {
  const parsed = parseModelcarFlags(flags);
  const { modelcarBuild } = await import('../commands/modelcar-build.ts');
  return withProgress(term, flags.output, flags.digestFile, (onEvent) =>
    modelcarBuild({
      modelDir: flags.modelDir,
      image: flags.image,
      base: flags.base,
      platforms: parsed.platforms,
      modelsPath: flags.modelsPath,
      layerThreshold: parsed.layerThreshold,
      maxLayers: parsed.maxLayers,
      labels: parsed.labels,
      cacheDir: flags.cache ? flags.cacheDir : undefined,
      useCache: flags.cache,
      uploadMode: flags.uploadMode,
      chunkSize: parsed.chunkSize,
      concurrency: parsed.concurrency,
      insecureRegistries: flags.insecureRegistry,
      caFile: flags.caFile,
      env: term.io.env,
      log: term,
      signal,
      onEvent,
    }),
  );
}
