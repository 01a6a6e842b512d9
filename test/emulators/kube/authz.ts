import { RESOURCES } from './discovery.ts';
import type { KubeState, User } from './state.ts';
import { isRecord, textOf } from './validation.ts';

/**
 * What every authenticated user may do whatever their rules: the bootstrap ClusterRoles
 * system:basic-user (self reviews) and system:discovery (discovery paths).
 * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles
 */
const SELF_REVIEWS = ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'];
const DISCOVERY_PATHS = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/healthz',
  '/livez',
  '/readyz',
  '/openapi',
  '/openapi/*',
  '/version',
  '/version/',
];

export function allowed(state: KubeState, user: User, verb: string, resource: string, namespace?: string): boolean {
  return (verb === 'create' && SELF_REVIEWS.includes(resource)) || state.allowed(user, verb, resource, namespace);
}

/** SelfSubjectAccessReview: https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/self-subject-access-review-v1/ */
export function accessReview(state: KubeState, user: User, body: unknown): unknown {
  const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
  const attrs = isRecord(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource = isRecord(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  let ok = false;
  if (attrs !== undefined) {
    const namespace = typeof attrs.namespace === 'string' && attrs.namespace !== '' ? attrs.namespace : undefined;
    ok = allowed(state, user, textOf(attrs.verb), textOf(attrs.resource), namespace);
  } else if (nonResource !== undefined) {
    const path = textOf(nonResource.path);
    ok =
      nonResource.verb === 'get' &&
      DISCOVERY_PATHS.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : p === path));
  }
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: { creationTimestamp: null },
    spec,
    status: { allowed: ok, ...(ok ? { reason: 'RBAC: allowed by the double' } : {}) },
  };
}

/** SelfSubjectRulesReview (kubectl auth can-i --list): https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/self-subject-rules-review-v1/ */
export function rulesReview(user: User, body: unknown): unknown {
  const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
  const namespace = typeof spec.namespace === 'string' ? spec.namespace : '';
  const groupOf = (resource: string) =>
    resource === '*' ? '*' : (RESOURCES.find((r) => r.resource === resource)?.group ?? '');
  const resourceRules = [
    {
      verbs: ['create'],
      apiGroups: ['authorization.k8s.io'],
      resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
    },
    { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ...user.rules
      .filter((r) => r.namespaces === undefined || r.namespaces.includes(namespace))
      .flatMap((r) => {
        const byGroup = new Map<string, string[]>();
        for (const resource of r.resources)
          byGroup.set(groupOf(resource), [...(byGroup.get(groupOf(resource)) ?? []), resource]);
        return [...byGroup].map(([group, resources]) => ({ verbs: [...r.verbs], apiGroups: [group], resources }));
      }),
  ];
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectRulesReview',
    metadata: { creationTimestamp: null },
    spec,
    status: {
      resourceRules,
      nonResourceRules: [{ verbs: ['get'], nonResourceURLs: DISCOVERY_PATHS }],
      incomplete: false,
    },
  };
}
