import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeConnection } from './client.ts';
import { apiCode, kubeError } from './errors.ts';

/** A Secret as preflight handles it: values stay base64 as the API returns them. */
export interface SecretObject {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Key to base64 value. Never logged. */
  readonly data: Readonly<Record<string, string>>;
}

/** What to write; `resourceVersion` makes an update conditional (409 when stale). */
export interface SecretBody {
  readonly name: string;
  readonly type: string;
  readonly resourceVersion?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, string>>;
}

/**
 * The calls preflight makes, on plain objects. Errors are {@link KubeApiError}s whose message names
 * the call, the user and the namespace; reads answer `undefined` for 404.
 */
export interface KubeApi {
  readonly connection: Omit<KubeConnection, 'config'>;
  readSecret(namespace: string, name: string): Promise<SecretObject | undefined>;
  createSecret(namespace: string, body: SecretBody): Promise<SecretObject>;
  replaceSecret(namespace: string, body: SecretBody): Promise<SecretObject>;
  readServiceAccount(
    namespace: string,
    name: string,
  ): Promise<{ readonly annotations: Readonly<Record<string, string>> } | undefined>;
  listNodes(): Promise<readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[]>;
  /** SelfSubjectAccessReview: may the current identity do `verb` on `resource` in `namespace`? */
  canI(verb: string, resource: string, namespace: string): Promise<boolean>;
  /** SelfSubjectReview: the username the cluster sees; undefined when the API is too old to say. */
  whoAmI(): Promise<string | undefined>;
  /** SelfSubjectReview made with another bearer token (a KFP token) against the same cluster. */
  reviewToken(token: string): Promise<string | undefined>;
}

export async function createKubeApi(connection: KubeConnection): Promise<KubeApi> {
  const {
    CoreV1Api,
    AuthorizationV1Api,
    AuthenticationV1Api,
    KubeConfig: KubeConfigClass,
  } = await import('@kubernetes/client-node');
  const core = connection.config.makeApiClient(CoreV1Api);
  const authz = connection.config.makeApiClient(AuthorizationV1Api);
  const { config, ...facts } = connection;
  const call = (verb: string, resource: string, namespace?: string, name?: string) => ({
    verb,
    resource,
    namespace,
    name,
    user: facts.user,
    server: facts.server,
  });

  async function orNotFound<T>(
    work: Promise<T>,
    verb: string,
    resource: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await work;
    } catch (error) {
      if (apiCode(error) === 404) return undefined;
      throw kubeError(error, call(verb, resource, namespace, name));
    }
  }

  async function review(kubeConfig: KubeConfig, user: string): Promise<string | undefined> {
    try {
      const out = await kubeConfig
        .makeApiClient(AuthenticationV1Api)
        .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      return out.status?.userInfo?.username;
    } catch (error) {
      // SelfSubjectReview is GA in 1.28; older clusters answer 404 and simply cannot say.
      if (apiCode(error) === 404) return undefined;
      throw kubeError(error, { ...call('create', 'selfsubjectreviews'), user });
    }
  }

  return {
    connection: facts,
    async readSecret(namespace, name) {
      const secret = await orNotFound(
        core.readNamespacedSecret({ name, namespace }),
        'get',
        'secrets',
        namespace,
        name,
      );
      return secret === undefined ? undefined : toSecret(secret, namespace);
    },
    async createSecret(namespace, body) {
      try {
        return toSecret(await core.createNamespacedSecret({ namespace, body: toV1(body) }), namespace);
      } catch (error) {
        throw kubeError(error, call('create', 'secrets', namespace, body.name));
      }
    },
    async replaceSecret(namespace, body) {
      try {
        return toSecret(
          await core.replaceNamespacedSecret({ name: body.name, namespace, body: toV1(body) }),
          namespace,
        );
      } catch (error) {
        throw kubeError(error, call('update', 'secrets', namespace, body.name));
      }
    },
    async readServiceAccount(namespace, name) {
      const sa = await orNotFound(
        core.readNamespacedServiceAccount({ name, namespace }),
        'get',
        'serviceaccounts',
        namespace,
        name,
      );
      return sa === undefined ? undefined : { annotations: sa.metadata?.annotations ?? {} };
    },
    async listNodes() {
      try {
        const list = await core.listNode();
        return list.items.map((node) => ({ name: node.metadata?.name ?? '', labels: node.metadata?.labels ?? {} }));
      } catch (error) {
        throw kubeError(error, call('list', 'nodes'));
      }
    },
    async canI(verb, resource, namespace) {
      try {
        const out = await authz.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { verb, resource, namespace } },
          },
        });
        return out.status?.allowed === true;
      } catch (error) {
        throw kubeError(error, call('create', 'selfsubjectaccessreviews'));
      }
    },
    whoAmI: () => review(config, facts.user),
    async reviewToken(token) {
      const cluster = config.getCurrentCluster();
      if (cluster === null) return undefined;
      const other = new KubeConfigClass();
      other.loadFromClusterAndUser(cluster, { name: 'token-under-review', token });
      return review(other, 'the token under review');
    },
  };
}

interface V1SecretLike {
  metadata?: {
    name?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  type?: string;
  data?: Record<string, string>;
}

function toSecret(secret: V1SecretLike, namespace: string): SecretObject {
  return {
    name: secret.metadata?.name ?? '',
    namespace,
    type: secret.type ?? 'Opaque',
    resourceVersion: secret.metadata?.resourceVersion ?? '',
    labels: secret.metadata?.labels ?? {},
    annotations: secret.metadata?.annotations ?? {},
    data: secret.data ?? {},
  };
}

function toV1(body: SecretBody) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: body.type,
    metadata: {
      name: body.name,
      labels: { ...body.labels },
      annotations: { ...body.annotations },
      ...(body.resourceVersion === undefined ? {} : { resourceVersion: body.resourceVersion }),
    },
    data: { ...body.data },
  };
}
