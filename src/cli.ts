import { inspect } from 'node:util';
import { Command, CommanderError } from 'commander';
import { checkCommandDefinition, type CheckFlags, givenValues } from './cli/check-command.ts';
import { type DiagnoseFlags, diagnoseCommandDefinition } from './cli/diagnose-command.ts';
import { type MintFlags, mintCommandDefinition } from './cli/mint-command.ts';
import { type RunFlags, runCommandDefinition } from './cli/run-command.ts';
import { type ModelcarFlags, modelcarCommandDefinition } from './cli/modelcar-command.ts';
import { type PushFlags, pushCommandDefinition } from './cli/push-command.ts';
import { runModelcarBuild, runPush } from './cli/run-push.ts';
import { AbortedError, ERROR_CODES, InternalError, PreflightError } from './errors.ts';
import { withStdoutReserved } from './output/plugin-output.ts';
import { createTerminal, type Io, type Terminal } from './output/terminal.ts';
import { renderWarning } from './output/warning.ts';
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
    .exitOverride()
    .configureOutput({
      writeOut: (s) => {
        term.out(s);
      },
      writeErr: (s) => {
        term.err(s);
      },
    });
  program.addCommand(
    checkCommandDefinition().action(async (flags: CheckFlags, cmd: Command) => {
      const document = flags.output !== 'text' && (flags.list === true || flags.outputFile === undefined);
      exitCode = await withStdoutReserved(term, document, (t) => runCheck(flags, cmd, t, signal));
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
      exitCode = await withStdoutReserved(term, flags.output === 'json', (t) => runPipelineStep(flags, t, signal));
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
  for (const sub of [...program.commands, ...modelcar.commands])
    sub.exitOverride().configureOutput({
      writeOut: (s) => {
        term.out(s);
      },
      writeErr: (s) => {
        term.err(s);
      },
    });
  try {
    await program.parseAsync(argv, { from: 'node' });
    // A command that stops quietly on the signal (check's report, mint-creds --watch) still ends as
    // the interruption it was: 130 or 143, the same for every command.
    return signal.aborted ? reportError(interruption(signal, undefined), term, debug) : exitCode;
  } catch (error) {
    return reportError(interruption(signal, error), term, debug);
  }
}

/**
 * Once the signal fired, whatever the work threw is its consequence (undici's AbortError, a
 * RegistryError whose request was cut, a stream destroyed mid-read): report the interruption, with
 * what was thrown kept as the cause for --debug. bin/preflight.js aborts with an AbortedError naming
 * the signal; an embedder that aborts with anything else is treated as Ctrl-C.
 */
function interruption(signal: AbortSignal, error: unknown): unknown {
  if (!signal.aborted || error instanceof AbortedError) return error;
  const reason: unknown = signal.reason;
  const aborted = reason instanceof AbortedError ? reason : new AbortedError('SIGINT');
  return error === undefined ? aborted : new AbortedError(aborted.signal, { cause: error });
}

async function runCheck(flags: CheckFlags, cmd: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const [{ prepareCheckRun, executeCheckRun }, { createCheckView, renderCheckList }] = await Promise.all([
    import('./commands/check.ts'),
    import('./output/check-view.ts'),
  ]);
  const input = {
    given: givenValues(cmd),
    configPath: flags.config,
    env: term.io.env,
    log: term,
    onWarning: (message: string) => {
      term.err(renderWarning(message, term.errStyle));
    },
  };
  const prepared = await prepareCheckRun(input);
  if (flags.list === true) {
    term.out(renderCheckList(prepared.all, flags.output));
    return 0;
  }
  const view = createCheckView(term, prepared.selected, { format: flags.output, outputFile: flags.outputFile });
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

/**
 * The one place a failure becomes output: a known failure is one `error:` line and one `hint:` line
 * (every stack, causes included, only with --debug); an InternalError or anything that is not a
 * PreflightError is a bug, printed with its stack and a request to report it.
 */
function reportError(error: unknown, term: Terminal, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and version are not errors.
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return 0;
    // Commander printed its `error:` line; the hint is ours, the same for every command and subcommand.
    term.err(`${term.errStyle.dim('hint:')} ${ERROR_CODES.usage.hint}\n`);
    return ERROR_CODES.usage.exitCode;
  }
  const style = term.errStyle;
  if (error instanceof PreflightError && !(error instanceof InternalError)) {
    term.err(`${style.red('error:')} ${error.message}\n`);
    term.err(`${style.dim('hint:')} ${error.hintText}\n`);
    if (debug) term.err(stackChain(error));
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  term.err(`${style.red('internal error:')} ${message}\n`);
  term.err(stackChain(error));
  term.err('This is a bug in preflight. Please report it with the command you ran and the output of --debug.\n');
  return ERROR_CODES.internal.exitCode;
}

/** The stack of `error` and of each cause under it (a network error's socket error, an abort's interrupted work). */
function stackChain(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 10; depth += 1) {
    const text = current instanceof Error ? (current.stack ?? current.message) : inspect(current);
    lines.push(depth === 0 ? text : `caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return `${lines.join('\n')}\n`;
}
