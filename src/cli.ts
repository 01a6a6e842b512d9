import { inspect } from 'node:util';
import { Command, CommanderError } from 'commander';
import { checkAction, checkCommandDefinition, checkPrintsDocument } from './cli/check-command.ts';
import { diagnoseAction, diagnoseCommandDefinition } from './cli/diagnose-command.ts';
import { mintAction, mintCommandDefinition } from './cli/mint-command.ts';
import { modelcarBuildAction, modelcarCommandDefinition } from './cli/modelcar-command.ts';
import { HELP_CONFIG } from './cli/options.ts';
import { pushAction, pushCommandDefinition } from './cli/push-command.ts';
import { runAction, runCommandDefinition } from './cli/run-command.ts';
import { AbortedError, ERROR_CODES, InternalError, PreflightError } from './errors.ts';
import { withStdoutReserved } from './output/plugin-output.ts';
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
    .exitOverride()
    .configureOutput({
      writeOut: (s) => {
        term.out(s);
      },
      writeErr: (s) => {
        term.err(s);
      },
    });
  // Each action gets its Command (commander passes it last) and reads its values from the option table.
  const action =
    (run: (command: Command) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args.at(-1);
      if (!(command instanceof Command)) throw new InternalError('commander passed no Command to the action');
      exitCode = await run(command);
    };
  const modelcar = modelcarCommandDefinition();
  modelcar.commands[0]?.action(action((c) => modelcarBuildAction(c, term, signal)));
  program
    .addCommand(
      checkCommandDefinition().action(
        action((c) =>
          // Plugins run inside check: their console.log must not corrupt a JSON or JUnit document on stdout.
          withStdoutReserved(term, checkPrintsDocument(c, io.env), (t) => checkAction(c, t, signal)),
        ),
      ),
    )
    .addCommand(pushCommandDefinition().action(action((c) => pushAction(c, term, signal))))
    .addCommand(modelcar)
    .addCommand(
      runCommandDefinition().action(
        // Always: in text too, stdout is the pushed reference that `$(preflight run …)` captures.
        action((c) => withStdoutReserved(term, true, (t) => runAction(c, t, signal))),
      ),
    )
    .addCommand(diagnoseCommandDefinition().action(action((c) => diagnoseAction(c, term))))
    .addCommand(mintCommandDefinition().action(action((c) => mintAction(c, term, signal))));
  for (const sub of [...program.commands, ...modelcar.commands])
    sub
      .exitOverride()
      .configureHelp(HELP_CONFIG)
      .configureOutput({
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
