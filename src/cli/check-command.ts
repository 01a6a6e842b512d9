import { Command } from 'commander';
import type { Terminal } from '../output/terminal.ts';
import { renderWarning } from '../output/warning.ts';
import { addOptions, readOptions } from './options.ts';

/** The rows of the option table `check` takes; every config-backed one can also be set in preflight.yaml. */
export const CHECK_OPTIONS = [
  'ecrUri',
  'awsRegion',
  'awsProfile',
  'roleArn',
  'namespace',
  'dockerConfig',
  'builder',
  'checkModelDir',
  'modelSize',
  'manifests',
  'images',
  'baseImage',
  'builderImage',
  'platform',
  'serviceAccount',
  'secretName',
  'minValidity',
  'context',
  'gatedModel',
  'hfSecretName',
  'plugin',
  'only',
  'skip',
  'timeout',
  'checkConcurrency',
  'scope',
  'strict',
  'config',
  'reportFormat',
  'outputFile',
] as const;

export function checkCommandDefinition(): Command {
  const command = new Command('check')
    .description('run the pre-pipeline checks and report pass/warn/fail/skip with a remediation for each problem')
    .option('--list', 'list the checks (id, scope, title, what each inspects) and exit');
  return addOptions(command, CHECK_OPTIONS).addHelpText(
    'after',
    `
A flag beats its env var, and both beat preflight.yaml.
Exit codes: 0 ok (warnings allowed), 1 internal error, 2 usage/config error,
            3 a check failed, 4 warnings under --strict, 130/143 interrupted (SIGINT/SIGTERM).
Secrets (KFP_TOKEN) are read from the environment only, never from flags or files.`,
  );
}

export async function checkAction(command: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const { values, given } = readOptions(command, CHECK_OPTIONS, term.io.env);
  const list = command.opts()['list'] === true;
  const [{ prepareCheckRun, executeCheckRun }, { createCheckView, renderCheckList }, { probeOutputFiles }] =
    await Promise.all([
      import('../commands/check.ts'),
      import('../output/check-view.ts'),
      import('../util/atomic-file.ts'),
    ]);
  // Before any check runs (some take their full timeout): a report that cannot be written fails now.
  if (!list) await probeOutputFiles([{ flag: '--output-file', path: values.outputFile }], 'no check was run');
  const input = {
    given,
    configPath: values.config,
    env: term.io.env,
    log: term,
    onWarning: (message: string) => {
      term.err(renderWarning(message, term.errStyle));
    },
  };
  const prepared = await prepareCheckRun(input);
  if (list) {
    term.out(renderCheckList(prepared.all, values.reportFormat));
    return 0;
  }
  const view = createCheckView(term, prepared.selected, {
    format: values.reportFormat,
    outputFile: values.outputFile,
  });
  const { run, report } = await executeCheckRun(prepared, {
    ...input,
    signal,
    onEvent: (event) => {
      view.onEvent(event);
    },
  });
  await view.finish(run, report);
  return report.exitCode;
}

/** Whether check's stdout is a document (JSON or JUnit) that plugin output must not corrupt. */
export function checkPrintsDocument(command: Command, env: Readonly<Record<string, string | undefined>>): boolean {
  const { values } = readOptions(command, ['reportFormat', 'outputFile'], env);
  return values.reportFormat !== 'text' && (command.opts()['list'] === true || values.outputFile === undefined);
}
