import type { Command } from 'commander';
import { resolveRegion } from '../aws/clients.ts';
import type { Terminal } from '../output/terminal.ts';
import { type MintFlags, parseMintFlags } from './mint-command.ts';

/** Default rotation margin of `--watch` when `--rotate-if-expiring-within` is not given. */
const WATCH_MARGIN_MS = 15 * 60_000;

export async function runMintCreds(
  flags: MintFlags,
  cmd: Command,
  term: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const env = term.io.env;
  const parsed = parseMintFlags(flags, env);
  const region = resolveRegion({ region: flags.awsRegion, ecrRegion: parsed.ecr?.region, env });
  const [{ connectKube }, { createKubeApi }, { mintCredentials }, view] = await Promise.all([
    import('../kube/client.ts'),
    import('../kube/api.ts'),
    import('../commands/mint-creds.ts'),
    import('../output/mint-view.ts'),
  ]);
  const connection = await connectKube({ env, kubeconfig: flags.kubeconfig, context: flags.context });
  term.debug(
    `kubernetes API ${connection.server}, context ${connection.context ?? 'in-cluster'}, user ${connection.user}`,
  );
  const input = {
    ...parsed,
    names: { aws: flags.secretName, registry: flags.registrySecretName },
    roleArn: flags.roleArn,
    durationExplicit: cmd.getOptionValueSource('duration') === 'cli',
    sourceCredentials: flags.sourceCredentials === true,
    force: flags.force === true,
    dryRun: flags.dryRun === true,
    region,
    profile: flags.awsProfile === '' ? undefined : flags.awsProfile,
    kube: await createKubeApi(connection),
    env,
    log: term,
    now: () => new Date(),
    signal,
  };
  if (flags.watch === true) {
    const { watchMint } = await import('../commands/mint-watch.ts');
    await watchMint(input, {
      marginMs: parsed.rotateWithinMs ?? WATCH_MARGIN_MS,
      onEvent: (event) => {
        view.showWatchEvent(term, event, flags.output, new Date());
      },
    });
    term.err('stopped watching\n');
    return 0;
  }
  view.showMintResult(term, await mintCredentials(input), flags.output, new Date());
  return 0;
}
