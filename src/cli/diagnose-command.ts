import { Command } from 'commander';
import type { Terminal } from '../output/terminal.ts';
import { addOptions, readOptions } from './options.ts';

const DIAGNOSE_OPTIONS = ['file', 'output'] as const;

export function diagnoseCommandDefinition(): Command {
  const command = new Command('diagnose').description(
    'recognise known failures in a pipeline log (Kaniko, ECR, kubelet, kubectl, AWS) and print cause and fix',
  );
  return addOptions(command, DIAGNOSE_OPTIONS).addHelpText(
    'after',
    '\nExamples:\n  oc logs -n team-a pod/train-pipeline-build --all-containers | preflight diagnose\n  preflight diagnose --file kaniko.log -o json\n\nExit codes: 0 whether or not something was recognised, 2 when the file cannot be read.',
  );
}

export async function diagnoseAction(command: Command, term: Terminal): Promise<number> {
  const { values } = readOptions(command, DIAGNOSE_OPTIONS, term.io.env);
  const [{ diagnoseLog }, { renderDiagnosis }] = await Promise.all([
    import('../commands/diagnose.ts'),
    import('../output/diagnose-view.ts'),
  ]);
  const result = await diagnoseLog({ file: values.file, stdin: term.io.stdin });
  term.out(renderDiagnosis(result, values.output));
  return 0;
}
