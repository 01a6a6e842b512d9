import { Command, CommanderError } from 'commander';
import { checkCommandDefinition, type CheckFlags, givenValues } from './cli/check-command.ts';
import { type DiagnoseFlags, diagnoseCommandDefinition } from './cli/diagnose-command.ts';
import { type MintFlags, mintCommandDefinition } from './cli/mint-command.ts';
import { type RunFlags, runCommandDefinition } from './cli/run-command.ts';
import { type ModelcarFlags, modelcarCommandDefinition } from './cli/modelcar-command.ts';
import { type PushFlags, pushCommandDefinition } from './cli/push-command.ts';
import { runModelcarBuild, runPush } from './cli/run-push.ts';
import { PreflightError } from './errors.ts';
import { createTerminal, type Io, type Terminal } from './output/terminal.ts';
import { packageVersion } from './version.ts';

/**
 * The CLI: wires commander to the commands and maps errors to exit codes. Callable from tests
 * with fake streams and an AbortSignal; only bin/preflight.js touches the real process.
 */
export async function main(argv: readonly string[], io: Io, signal: AbortSignal): Promise<number> {
  const debug = argv.includes('--debug');
  const term = createTerminal(io, debug);
  let exitCode = 0;
  const program = new Command('preflight')
    .description('Make ECR/Kaniko container pipelines on Kubernetes, OpenShift and Kubeflow work the first time.')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show debug logs and full stack traces (never secret values)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => { term.out(s); }, writeErr: (s) => { term.err(s); } });
  program.addCommand(
    checkCommandDefinition().action(async (flags: CheckFlags, cmd: Command) => {
      exitCode = await runCheck(flags, cmd, term, signal);
    }),
  );
  program.addCommand(
    pushCommandDefinition().action(async (source: string, destination: string, flags: PushFlags) => {
      exitCode = await runPush(source, destination, flags, term, signal);
    }),
  );
  const modelcar = modelcarCommandDefinition();
  modelcar.commands[0]?.action(async (flags: ModelcarFlags) => {
    exitCode = await runModelcarBuild(flags, term, signal);
  });
  program.addCommand(modelcar);
  program.addCommand(
    runCommandDefinition().action(async (flags: RunFlags) => {
      const { runPipelineStep } = await import('./cli/run-step.ts');
      exitCode = await runPipelineStep(flags, term, signal);
    }),
  );
  program.addCommand(
    diagnoseCommandDefinition().action(async (flags: DiagnoseFlags) => {
      const { runDiagnose } = await import('./cli/diagnose-command.ts');
      exitCode = await runDiagnose(flags, term);
    }),
  );
  program.addCommand(
    mintCommandDefinition().action(async (flags: MintFlags, cmd: Command) => {
      const { runMintCreds } = await import('./cli/run-mint.ts');
      exitCode = await runMintCreds(flags, cmd, term, signal);
    }),
  );
  for (const sub of [...program.commands, ...modelcar.commands]) sub.exitOverride().configureOutput({ writeOut: (s) => { term.out(s); }, writeErr: (s) => { term.err(s); } });
  try {
    await program.parseAsync(argv, { from: 'node' });
    return exitCode;
  } catch (error) {
    return reportError(error, term, debug);
  }
}

async function runCheck(flags: CheckFlags, cmd: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const [{ prepareCheckRun, executeCheckRun }, { createCheckView, renderCheckList }] = await Promise.all([
    import('./commands/check.ts'),
    import('./output/check-view.ts'),
  ]);
  const input = { given: givenValues(cmd), configPath: flags.config, env: term.io.env, log: term };
  const prepared = await prepareCheckRun(input);
  if (flags.list === true) {
    term.out(renderCheckList(prepared.all, flags.output));
    return 0;
  }
  const view = createCheckView(term, prepared.selected, { format: flags.output, outputFile: flags.outputFile });
  const { run, report } = await executeCheckRun(prepared, { ...input, signal, onEvent: (event) => { view.onEvent(event); } });
  await view.finish(run, report);
  return report.exitCode;
}

function reportError(error: unknown, term: Terminal, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and version are not errors.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return 2;
  }
  const style = term.errStyle;
  if (error instanceof PreflightError) {
    term.err(`${style.red('error:')} ${error.message}\n`);
    if (error.hint !== undefined) term.err(`${style.dim('hint:')} ${error.hint}\n`);
    if (debug && error.stack !== undefined) term.err(`${error.stack}\n`);
    return error.exitCode;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  term.err(`${style.red('internal error:')} ${stack}\n`);
  term.err('This is a bug in preflight. Please report it with the command you ran and the output of --debug.\n');
  return 1;
}
