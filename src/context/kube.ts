import type { KubeApi } from '../kube/api.ts';
import type { KubeAccess, Logger } from './types.ts';

/**
 * Kubernetes for checks: the kubeconfig (or in-cluster config) is read and client-node loaded on the
 * first call only; every later call shares that connection.
 */
export function lazyKubeAccess(input: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly context: string | undefined;
  readonly log: Logger;
}): KubeAccess {
  let api: Promise<KubeApi> | undefined;
  const connect = (): Promise<KubeApi> => {
    api ??= (async () => {
      const [{ connectKube }, { createKubeApi }] = await Promise.all([
        import('../kube/client.ts'),
        import('../kube/api.ts'),
      ]);
      const connection = await connectKube({ env: input.env, context: input.context });
      input.log.debug(`kubernetes API ${connection.server} as ${connection.user}`);
      return createKubeApi(connection);
    })();
    return api;
  };
  return {
    target: async () => (await connect()).connection,
    async secret(namespace, name) {
      const secret = await (await connect()).readSecret(namespace, name);
      if (secret === undefined) return undefined;
      const data = Object.fromEntries(
        Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
      );
      return { type: secret.type, labels: secret.labels, annotations: secret.annotations, data };
    },
    serviceAccount: async (namespace, name) => (await connect()).readServiceAccount(namespace, name),
    nodes: async () => (await connect()).listNodes(),
    canI: async (verb, resource, namespace) => (await connect()).canI(verb, resource, namespace),
    whoAmI: async () => (await connect()).whoAmI(),
    reviewToken: async (token) => (await connect()).reviewToken(token),
  };
}
