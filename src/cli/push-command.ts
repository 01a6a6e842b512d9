import { Command } from 'commander';
import type { Terminal } from '../output/terminal.ts';
import { addOptions, type OptionValues, readOptions } from './options.ts';
import { pushWithOutputs } from './progress.ts';

/** The registry rows `push`, `modelcar build` and `run` share. */
export const UPLOAD_OPTIONS = ['uploadMode', 'chunkSize', 'uploadConcurrency', 'insecureRegistry', 'caFile'] as const;

const PUSH_OPTIONS = [...UPLOAD_OPTIONS, 'digestFile', 'output'] as const;

export function pushCommandDefinition(): Command {
  const command = new Command('push')
    .description('stream an image from an OCI archive, OCI layout or docker archive into a registry, without temp disk')
    .argument('<source>', 'oci-archive:PATH[:ref], oci:DIR[:ref] or docker-archive:PATH')
    .argument(
      '<destination>',
      'docker://REF or a plain image reference, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1',
    );
  return addOptions(command, PUSH_OPTIONS).addHelpText(
    'after',
    `
Credentials: ECR tokens, then DOCKER_CONFIG/config.json (auths, credHelpers, credsStore),
REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, then anonymous.
Exit codes: 0 pushed, 1 registry or network failure, 2 bad input (nothing pushed), 130/143 interrupted.`,
  );
}

/** The upload part of a push or build input, from the shared rows. */
export function uploadInput(values: OptionValues<(typeof UPLOAD_OPTIONS)[number]>) {
  return {
    uploadMode: values.uploadMode,
    chunkSize: values.chunkSize,
    concurrency: values.uploadConcurrency,
    insecureRegistries: values.insecureRegistry,
    caFile: values.caFile,
  };
}

export async function pushAction(command: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const [source = '', destination = ''] = command.args;
  const { values } = readOptions(command, PUSH_OPTIONS, term.io.env);
  const { push } = await import('../commands/push.ts');
  await pushWithOutputs(term, values, (onEvent) =>
    push({ source, destination, ...uploadInput(values), env: term.io.env, log: term, signal, onEvent }),
  );
  return 0;
}
