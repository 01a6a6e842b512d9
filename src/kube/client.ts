import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../errors.ts';

/** Which cluster and identity: `--kubeconfig`/KUBECONFIG, `--context`, else in-cluster config in a pod. */
export interface KubeTarget {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

/** A loaded kubeconfig and what error messages need from it. */
export interface KubeConnection {
  readonly config: KubeConfig;
  readonly server: string;
  /** The context in use; undefined in-cluster. */
  readonly context: string | undefined;
  /** The kubeconfig user name (in-cluster: the pod's ServiceAccount). */
  readonly user: string;
  /** The context's namespace, or the pod's own namespace in-cluster. */
  readonly namespace: string | undefined;
  readonly inCluster: boolean;
}

const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Load the kubeconfig the way kubectl and oc do: `--kubeconfig`, then KUBECONFIG (a list merged in
 * order), then ~/.kube/config; with none and KUBERNETES_SERVICE_HOST set, the pod's ServiceAccount.
 * client-node is imported here only, on first use.
 */
export async function connectKube(target: KubeTarget): Promise<KubeConnection> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const files = kubeconfigFiles(target);
  const config = new KubeConfig();
  if (files.length > 0) {
    for (const [index, file] of files.entries()) {
      try {
        if (index === 0) config.loadFromFile(file);
        else {
          const next = new KubeConfig();
          next.loadFromFile(file);
          config.mergeConfig(next, true);
        }
      } catch (error) {
        throw new ConfigError(`kubeconfig ${file} cannot be read: ${firstLine(error)}`, {
          hint: 'check --kubeconfig / KUBECONFIG, or log in again with oc login',
        });
      }
    }
  } else if (
    nonEmpty(target.env.KUBERNETES_SERVICE_HOST) !== undefined &&
    existsSync(join(SERVICEACCOUNT_DIR, 'token'))
  ) {
    config.loadFromCluster();
    return {
      config,
      server: config.getCurrentCluster()?.server ?? '',
      context: undefined,
      user: 'the pod ServiceAccount',
      namespace: config.getContextObject(config.getCurrentContext())?.namespace,
      inCluster: true,
    };
  } else {
    throw new ConfigError(
      'no kubeconfig: neither --kubeconfig, KUBECONFIG nor ~/.kube/config exists, and this is not a pod',
      { hint: 'log in first: oc login --token=… --server=https://api.CLUSTER:6443 (or kubectl config use-context)' },
    );
  }
  if (target.context !== undefined) {
    if (config.getContextObject(target.context) === null) {
      const known = config
        .getContexts()
        .map((c) => c.name)
        .join(', ');
      throw new ConfigError(`--context ${target.context} is not in the kubeconfig`, {
        hint: known === '' ? 'the kubeconfig has no contexts: run oc login' : `known contexts: ${known}`,
      });
    }
    config.setCurrentContext(target.context);
  }
  const context = config.getContextObject(config.getCurrentContext());
  const cluster = config.getCurrentCluster();
  if (context === null || cluster === null) {
    throw new ConfigError(
      `the kubeconfig has no usable current context${config.getCurrentContext() === '' ? '' : ` (${config.getCurrentContext()})`}`,
      { hint: 'run oc login, or pass --context NAME' },
    );
  }
  return {
    config,
    server: cluster.server,
    context: context.name,
    user: context.user,
    namespace: context.namespace,
    inCluster: false,
  };
}

function kubeconfigFiles(target: KubeTarget): string[] {
  if (target.kubeconfig !== undefined) {
    if (!existsSync(target.kubeconfig))
      throw new ConfigError(`--kubeconfig ${target.kubeconfig} does not exist`, {
        hint: 'pass the path of a kubeconfig file (oc login writes ~/.kube/config)',
      });
    return [target.kubeconfig];
  }
  const listed = (target.env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (listed.length > 0) {
    const present = listed.filter((f) => existsSync(f));
    if (present.length === 0)
      throw new ConfigError(`KUBECONFIG names no existing file (${listed.join(delimiter)})`, {
        hint: 'unset KUBECONFIG or point it at the file oc login wrote',
      });
    return present;
  }
  const home = nonEmpty(target.env.HOME) ?? homedir();
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : [];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
