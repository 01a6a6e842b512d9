import { createReadStream } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError } from '../errors.ts';
import type { Terminal } from '../output/terminal.ts';

export interface DiagnoseFlags {
  readonly file?: string;
  readonly output: 'text' | 'json';
}

export function diagnoseCommandDefinition(): Command {
  return new Command('diagnose')
    .description(
      'recognise known failures in a pipeline log (Kaniko, ECR, kubelet, kubectl, AWS) and print cause and fix',
    )
    .addOption(
      new Option(
        '-f, --file <log>',
        'the log to read (default: standard input), e.g. from oc logs POD --all-containers',
      ),
    )
    .addOption(new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExamples:\n  oc logs -n team-a pod/train-pipeline-build --all-containers | preflight diagnose\n  preflight diagnose --file kaniko.log -o json\n\nExit codes: 0 whether or not something was recognised, 2 when the file cannot be read.',
    );
}

export async function runDiagnose(flags: DiagnoseFlags, term: Terminal): Promise<number> {
  const [{ diagnose }, { renderDiagnosis }] = await Promise.all([
    import('../diagnose/match.ts'),
    import('../output/diagnose-view.ts'),
  ]);
  let input: NodeJS.ReadableStream;
  if (flags.file === undefined) {
    if (term.io.stdin === undefined)
      throw new ConfigError('no log: standard input is not available', { hint: 'pass --file LOG' });
    input = term.io.stdin;
  } else {
    const stream = createReadStream(flags.file);
    // Open errors surface as a one-line usage error, before any output.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => {
        resolve();
      });
      stream.once('error', reject);
    }).catch((error: unknown) => {
      throw new ConfigError(
        `cannot read --file ${flags.file ?? ''}: ${error instanceof Error ? error.message : String(error)}`,
        { hint: 'pass a readable log file, or pipe the log to standard input' },
      );
    });
    input = stream;
  }
  const result = await diagnose(input);
  term.out(renderDiagnosis({ ...result, source: flags.file ?? 'standard input' }, flags.output));
  return 0;
}
