import { defineCheck, fail, pass, skip } from '../src/plugin.ts';
import { cannotRead, LOGIN_AGAIN, NO_NAMESPACE } from './aws-common.ts';
import { namespaceOf } from './kube-common.ts';

const VERBS = ['get', 'create', 'update'] as const;

export default defineCheck({
  id: 'secret-rbac',
  title: 'You may get, create and update Secrets in the namespace (for mint-creds)',
  scope: 'any',
  inspects:
    'SelfSubjectAccessReview for get, create and update on secrets in the namespace, as the current kubeconfig (or pod) identity',
  appliesTo: (ctx) => (namespaceOf(ctx) === undefined ? NO_NAMESPACE : true),
  async run(ctx) {
    const namespace = namespaceOf(ctx);
    if (namespace === undefined) return skip(NO_NAMESPACE);
    let allowed: boolean[];
    let who: string;
    try {
      allowed = await Promise.all(VERBS.map((verb) => ctx.kube.canI(verb, 'secrets', namespace)));
      who = (await ctx.kube.whoAmI()) ?? (await ctx.kube.target()).user;
    } catch (error) {
      return cannotRead(ctx, error, 'cannot ask the cluster', LOGIN_AGAIN);
    }
    const missing = VERBS.filter((_, i) => allowed[i] !== true);
    if (missing.length === 0) return pass(`${who} may get, create and update secrets in ${namespace}`);
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(who);
    const subject = sa === null ? `--user=${who}` : `--serviceaccount=${sa[1] ?? ''}:${sa[2] ?? ''}`;
    return fail(
      `${who} may not ${missing.join(', ')} secrets in ${namespace}: preflight mint-creds cannot write the credentials Secret`,
      {
        remediation: `Ask a namespace admin to grant them (or apply deploy/k8s/rbac.yaml):\noc create role preflight-secrets --verb=get,create,update --resource=secrets -n ${namespace}\noc create rolebinding preflight-secrets --role=preflight-secrets ${subject} -n ${namespace}`,
      },
    );
  },
});
