import type { Terminal } from '../output/terminal.ts';
import { renderWarning } from '../output/warning.ts';
import { imageWithTag, runGivenValues, type RunFlags } from './run-command.ts';
import { parsePushNumbers } from './push-command.ts';
import { buildAndPushModelcar, withProgress } from './run-push.ts';

/**
 * The pipeline step. Checks run first and print to stderr; a failure (or a warning under --strict)
 * stops the step before anything is pushed. Then the build or push, then every output file, each
 * written atomically so the next step never reads half a digest.
 */
export async function runPipelineStep(flagsAsGiven: RunFlags, term: Terminal, signal: AbortSignal): Promise<number> {
  const flags: RunFlags = { ...flagsAsGiven, image: imageWithTag(flagsAsGiven.image, flagsAsGiven.tag) };
  const given = runGivenValues(flags);
  const [
    { prepareCheckRun, executeCheckRun },
    { renderText },
    { PRIVATE_FILE, probeOutputFiles, SHARED_FILE, writeFileAtomic },
  ] = await Promise.all([
    import('../commands/check.ts'),
    import('../output/text.ts'),
    import('../util/atomic-file.ts'),
  ]);
  // Before the checks (which talk to registries too) and the push: an output the step cannot write
  // fails now, with nothing pushed, instead of after the manifest is in the registry.
  await probeOutputFiles([
    { flag: '--image-uri-file', path: flags.imageUriFile },
    { flag: '--image-url-file', path: flags.imageUrlFile },
    { flag: '--image-digest-file', path: flags.imageDigestFile },
    { flag: '--report-file', path: flags.reportFile },
  ]);
  const input = {
    given,
    configPath: flags.config,
    env: term.io.env,
    log: term,
    onWarning: (message: string) => {
      term.err(renderWarning(message, term.errStyle));
    },
  };
  const prepared = await prepareCheckRun(input);
  const { report } = await executeCheckRun(prepared, { ...input, signal });
  term.err(renderText(report, term.errStyle));
  // The result files are read by the next Tekton step or the KFP launcher, which may run as another
  // uid: shared. The report names images, accounts and namespaces: private.
  const write = async (path: string | undefined, text: string, mode: number) => {
    if (path !== undefined) await writeFileAtomic(path, text, mode);
  };
  if (report.exitCode !== 0) {
    await write(
      flags.reportFile,
      `${JSON.stringify({ schemaVersion: 1, outcome: 'checks-failed', checks: report }, null, 2)}\n`,
      PRIVATE_FILE,
    );
    term.err(
      `preflight run: ${report.exitCode === 4 ? 'warnings under --strict' : 'a check failed'}: nothing was pushed\n`,
    );
    if (flags.output === 'json')
      term.out(`${JSON.stringify({ schemaVersion: 1, outcome: 'checks-failed', checks: report }, null, 2)}\n`);
    return report.exitCode;
  }
  // The push prints its reference (text) itself; JSON output is the whole report, printed below.
  const pushTerm: Terminal = flags.output === 'json' ? { ...term, out: () => undefined } : term;
  let pushed: { reference: string };
  if (flags.source !== undefined) {
    const source = flags.source;
    const numbers = parsePushNumbers({ ...flags, output: 'text' });
    const { push } = await import('../commands/push.ts');
    pushed = await withProgress(pushTerm, 'text', undefined, (onEvent) =>
      push({
        source,
        destination: flags.image,
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
  } else {
    pushed = await buildAndPushModelcar({ ...flags, modelDir: flags.modelDir ?? '', output: 'text' }, pushTerm, signal);
  }
  const digest = pushed.reference.slice(pushed.reference.lastIndexOf('@') + 1);
  // The modelcar contract is checked on the planned image before any upload (a breach is exit 2 with
  // nothing pushed), so a push that got here pushed a working modelcar.
  const full = {
    schemaVersion: 1,
    outcome: 'pushed',
    reference: pushed.reference,
    digest,
    checks: report,
    push: pushed,
  };
  await write(flags.imageUriFile, pushed.reference, SHARED_FILE);
  await write(flags.imageUrlFile, flags.image, SHARED_FILE);
  await write(flags.imageDigestFile, digest, SHARED_FILE);
  await write(flags.reportFile, `${JSON.stringify(full, null, 2)}\n`, PRIVATE_FILE);
  if (flags.output === 'json') term.out(`${JSON.stringify(full, null, 2)}\n`);
  return 0;
}
