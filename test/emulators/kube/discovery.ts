/**
 * What the double serves, and the discovery documents kubectl and client-go read before any call.
 * Shapes: https://kubernetes.io/docs/reference/using-api/api-concepts/#discovery-api and
 * https://kubernetes.io/docs/reference/generated/kubernetes-api/v1.20/#apiresourcelist-v1-meta
 */

export interface ResourceSpec {
  readonly resource: string;
  readonly kind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
  readonly shortNames?: readonly string[];
  /** Review resources: create only, never stored. */
  readonly virtual?: boolean;
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceSpec[] = [
  {
    resource: 'namespaces',
    kind: 'Namespace',
    group: '',
    version: 'v1',
    namespaced: false,
    verbs: CRUD,
    shortNames: ['ns'],
  },
  { resource: 'nodes', kind: 'Node', group: '', version: 'v1', namespaced: false, verbs: CRUD, shortNames: ['no'] },
  { resource: 'secrets', kind: 'Secret', group: '', version: 'v1', namespaced: true, verbs: CRUD },
  {
    resource: 'serviceaccounts',
    kind: 'ServiceAccount',
    group: '',
    version: 'v1',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['sa'],
  },
  {
    resource: 'cronjobs',
    kind: 'CronJob',
    group: 'batch',
    version: 'v1',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['cj'],
  },
  { resource: 'roles', kind: 'Role', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true, verbs: CRUD },
  {
    resource: 'rolebindings',
    kind: 'RoleBinding',
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    namespaced: true,
    verbs: CRUD,
  },
  {
    resource: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    group: 'authorization.k8s.io',
    version: 'v1',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  },
  {
    resource: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    group: 'authorization.k8s.io',
    version: 'v1',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  },
  {
    resource: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    group: 'authentication.k8s.io',
    version: 'v1',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  },
];

export function findResource(group: string, version: string, resource: string): ResourceSpec | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function apiVersionOf(spec: { group: string; version: string }): string {
  return spec.group === '' ? spec.version : `${spec.group}/${spec.version}`;
}

function groups(): string[] {
  return [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];
}

/** GET /version: https://kubernetes.io/docs/reference/using-api/health-checks/ (1.28: the first release that serves every API here, SelfSubjectReview v1 included). */
export const VERSION = {
  major: '1',
  minor: '28',
  gitVersion: 'v1.28.15',
  gitCommit: '841856557ef0f6a399096c42635d114d6f2cf7f4',
  gitTreeState: 'clean',
  buildDate: '2024-10-22T20:26:52Z',
  goVersion: 'go1.22.8',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** The discovery document at `path`, or undefined when `path` is not a discovery path. */
export function discovery(path: string, serverAddress: string): unknown {
  if (path === '/api')
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  if (path === '/apis')
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups().map((name) => {
        const version = { groupVersion: `${name}/v1`, version: 'v1' };
        return { name, versions: [version], preferredVersion: version };
      }),
    };
  if (path === '/api/v1') return resourceList('', 'v1');
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined && groups().includes(group)) {
    const version = { groupVersion: `${group}/v1`, version: 'v1' };
    return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [version], preferredVersion: version };
  }
  const groupVersion = /^\/apis\/([^/]+)\/(v1)$/.exec(path);
  if (groupVersion !== null && groups().includes(groupVersion[1] ?? ''))
    return resourceList(groupVersion[1] ?? '', 'v1');
  return undefined;
}

function resourceList(group: string, version: string) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources: RESOURCES.filter((r) => r.group === group && r.version === version).map((r) => ({
      name: r.resource,
      singularName: '',
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames === undefined ? {} : { shortNames: r.shortNames }),
    })),
  };
}
