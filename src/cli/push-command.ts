import { Command, Option } from 'commander';
import { parseSize } from '../config/units.ts';
import { UsageError } from '../errors.ts';

export interface PushFlags {
  readonly uploadMode: 'chunked' | 'stream' | 'auto';
  readonly chunkSize: string;
  readonly concurrency: string;
  readonly insecureRegistry: readonly string[];
  readonly caFile?: string;
  readonly digestFile?: string;
  readonly output: 'text' | 'json';
}

export function pushCommandDefinition(): Command {
  return new Command('push')
    .description('stream an image from an OCI archive, OCI layout or docker archive into a registry, without temp disk')
    .argument('<source>', 'oci-archive:PATH[:ref], oci:DIR[:ref] or docker-archive:PATH')
    .argument(
      '<destination>',
      'docker://REF or a plain image reference, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1',
    )
    .addOption(
      new Option(
        '--upload-mode <mode>',
        'chunked PATCHes with Content-Range, one streamed PATCH, or auto (chunked for ECR, stream elsewhere)',
      )
        .choices(['chunked', 'stream', 'auto'])
        .default('auto'),
    )
    .addOption(new Option('--chunk-size <size>', 'part size in chunked mode (ECR: 5MiB to 10MiB)').default('8MiB'))
    .addOption(
      new Option('--concurrency <n>', 'blobs uploaded at once; each holds at most one part in memory').default('4'),
    )
    .addOption(
      new Option(
        '--insecure-registry <host>',
        'allow plain HTTP to this registry (loopback hosts are always allowed); repeatable',
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option(
        '--ca-file <path>',
        'extra CA certificates (PEM) to trust, besides the system ones and NODE_EXTRA_CA_CERTS',
      ),
    )
    .addOption(
      new Option(
        '--digest-file <path>',
        'write the pushed repo@sha256:… to this file (a pipeline output; mode 0644, the next step may run as another uid)',
      ),
    )
    .addOption(new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nCredentials: ECR tokens, then DOCKER_CONFIG/config.json (auths, credHelpers, credsStore),\nREGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, then anonymous.',
    );
}

/** Validate the numeric flags; commander hands them over as strings. */
export function parsePushNumbers(flags: PushFlags): { chunkSize: number; concurrency: number } {
  const chunkSize = parseSize(flags.chunkSize);
  if (chunkSize === undefined || chunkSize < 1)
    throw new UsageError(`--chunk-size: "${flags.chunkSize}" is not a size`, { hint: 'e.g. --chunk-size 8MiB' });
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency: "${flags.concurrency}" is not a number from 1 to 64`, {
      hint: 'e.g. --concurrency 4',
    });
  }
  return { chunkSize, concurrency };
}

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? previous.map(String) : []), value];
}
