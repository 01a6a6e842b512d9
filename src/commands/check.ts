import { inspect } from 'node:util';
import { builtinChecks } from '../../checks/index.ts';
import { loadConfigFile } from '../config/load.ts';
import { type CheckRunConfig, type GivenValues, resolveCheckConfig } from '../config/resolve.ts';
import { createContext } from '../context/create.ts';
import type { Check, Logger } from '../plugin.ts';
import { type CheckSet, loadChecks } from '../runner/plugins.ts';
import { buildReport, type Report } from '../runner/report.ts';
import { type RunEvent, type RunReport, runChecks } from '../runner/run.ts';
import { selectChecks } from '../runner/select.ts';
import { packageVersion } from '../version.ts';

export interface CheckCommandInput {
  readonly given: GivenValues;
  readonly configPath: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /**
   * Told at once, before any plugin is imported or check selected, so a warning is not lost when
   * the run then fails on its input (an --only naming a plugin check that was not loaded).
   */
  readonly onWarning: (message: string) => void;
}

/** A run that is ready to start: config resolved, plugins loaded, checks selected. */
export interface PreparedCheckRun {
  readonly config: CheckRunConfig;
  readonly all: CheckSet;
  readonly selected: readonly Check[];
}

/** Resolve config and plugins, and select the checks; every input error surfaces here, before any check runs. */
export async function prepareCheckRun(input: CheckCommandInput): Promise<PreparedCheckRun> {
  const file = await loadConfigFile(input.configPath ?? 'preflight.yaml', input.configPath !== undefined);
  const config = resolveCheckConfig(input.given, file, input.env);
  for (const warning of config.warnings) input.onWarning(warning);
  input.log.debug(
    `config: ${config.configPath ?? 'no config file'}; scope ${config.scope}; timeout ${config.timeoutMs}ms; concurrency ${config.concurrency}`,
  );
  const all = await loadChecks(builtinChecks, config.plugins);
  const selected = selectChecks(all.checks, { only: config.only, skip: config.skip });
  return { config, all, selected };
}

/** Run the selected checks and build the report. Never throws for a check's sake. */
export async function executeCheckRun(
  prepared: PreparedCheckRun,
  input: CheckCommandInput & { readonly signal: AbortSignal; readonly onEvent?: (event: RunEvent) => void },
): Promise<{ run: RunReport; report: Report }> {
  const { config } = prepared;
  const startedAt = new Date();
  const started = performance.now();
  const context = createContext({
    options: config.options,
    scope: config.scope,
    env: input.env,
    signal: input.signal,
    log: input.log,
  });
  const run = await runChecks({
    checks: prepared.selected,
    context,
    concurrency: config.concurrency,
    timeoutMs: config.timeoutMs,
    signal: input.signal,
    origin: (check) => prepared.all.origins.get(check) ?? 'built-in',
    ...(input.onEvent === undefined ? {} : { onEvent: input.onEvent }),
  });
  for (const outcome of run.outcomes) {
    if (outcome.error !== undefined) {
      const stack =
        outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : inspect(outcome.error);
      input.log.debug(`${outcome.check.id} crashed:\n${stack}`);
    }
  }
  const report = buildReport({
    run,
    origins: prepared.all.origins,
    version: packageVersion(),
    startedAt,
    durationMs: performance.now() - started,
    scope: config.scope,
    strict: config.strict,
  });
  return { run, report };
}
