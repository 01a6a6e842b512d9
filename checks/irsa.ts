import { type CheckContext, type CheckResult, defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { cannotRead, ecrTarget, LOGIN_AGAIN, NO_NAMESPACE } from './aws-common.ts';
import { IRSA_ANNOTATION, mintCommand, namespaceOf, ROLE_ARN } from './kube-common.ts';

export default defineCheck({
  id: 'irsa',
  title: 'The pipeline gets AWS credentials: IRSA wired, or a credentials Secret',
  scope: 'any',
  inspects:
    'in a pod: AWS_ROLE_ARN and a readable AWS_WEB_IDENTITY_TOKEN_FILE; on a laptop: the eks.amazonaws.com/role-arn annotation of --service-account, else the credentials Secret',
  appliesTo: (ctx) => {
    const target = ecrTarget(ctx);
    if (typeof target === 'string') return target;
    return ctx.scope === 'pod' || namespaceOf(ctx) !== undefined ? true : NO_NAMESPACE;
  },
  run: (ctx) => (ctx.scope === 'pod' ? inPod(ctx) : fromCluster(ctx)),
});

async function inPod(ctx: CheckContext): Promise<CheckResult> {
  const role = ctx.env.AWS_ROLE_ARN ?? '';
  const tokenFile = ctx.env.AWS_WEB_IDENTITY_TOKEN_FILE ?? '';
  if (role === '' && tokenFile === '') {
    if ((ctx.env.AWS_ACCESS_KEY_ID ?? '') !== '')
      return skip('not using IRSA: AWS_ACCESS_KEY_ID comes from the environment (a credentials Secret)');
    return fail(
      'this pod has neither IRSA (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) nor AWS keys in its environment: the push has no AWS credentials',
      { remediation: bothWays(ctx, ctx.env.POD_NAMESPACE ?? 'NAMESPACE') },
    );
  }
  if (role === '' || tokenFile === '') {
    return fail(`IRSA is half wired: ${role === '' ? 'AWS_ROLE_ARN' : 'AWS_WEB_IDENTITY_TOKEN_FILE'} is missing`, {
      remediation:
        'The pod identity webhook sets both from the ServiceAccount annotation; run the pod with that ServiceAccount (serviceAccountName) instead of setting them by hand.',
    });
  }
  if (!ROLE_ARN.test(role))
    return fail(`AWS_ROLE_ARN "${role}" is not an IAM role ARN`, {
      remediation:
        'Fix the eks.amazonaws.com/role-arn annotation of the ServiceAccount: arn:aws:iam::<account>:role/<name>.',
    });
  if (!(await ctx.fs.canAccess(tokenFile, 'read'))) {
    return fail(`the web identity token ${tokenFile} is not readable by uid ${ctx.user.uid}`, {
      remediation:
        'Give the pod an fsGroup so the projected token is group-readable:\nspec:\n  securityContext:\n    fsGroup: 65534   # OpenShift: leave it to the restricted SCC, which sets one',
    });
  }
  return pass(`IRSA is wired: role ${role}, token ${tokenFile}`);
}

async function fromCluster(ctx: CheckContext): Promise<CheckResult> {
  const namespace = namespaceOf(ctx);
  if (namespace === undefined) return skip(NO_NAMESPACE);
  const target = ecrTarget(ctx);
  const name = ctx.options.serviceAccount;
  let sa;
  try {
    sa = await ctx.kube.serviceAccount(namespace, name);
  } catch (error) {
    return cannotRead(ctx, error, `cannot read ServiceAccount ${namespace}/${name}`, LOGIN_AGAIN);
  }
  const role = sa?.annotations[IRSA_ANNOTATION];
  if (role === undefined) {
    const secret = await ctx.kube.secret(namespace, ctx.options.secretName).catch(() => undefined);
    if (secret !== undefined)
      return skip(
        `IRSA is not used: the pipeline takes credentials from Secret ${namespace}/${ctx.options.secretName} (see check credentials-secret)`,
      );
    return fail(
      `${sa === undefined ? `ServiceAccount ${namespace}/${name} does not exist` : `ServiceAccount ${namespace}/${name} has no ${IRSA_ANNOTATION} annotation`}, and there is no Secret ${ctx.options.secretName}: the pipeline has no AWS credentials`,
      { remediation: bothWays(ctx, namespace) },
    );
  }
  const match = ROLE_ARN.exec(role);
  if (match === null)
    return fail(`${IRSA_ANNOTATION} on ${namespace}/${name} is "${role}", not an IAM role ARN`, {
      remediation: `oc annotate serviceaccount ${name} -n ${namespace} --overwrite ${IRSA_ANNOTATION}=arn:aws:iam::<account>:role/<push role>`,
    });
  if (typeof target !== 'string' && match[1] !== target.account) {
    return warn(
      `IRSA role ${role} is in account ${match[1] ?? '?'}, the repository in ${target.account}: a cross-account push needs a repository policy that allows the role`,
      {
        remediation: `aws ecr set-repository-policy --repository-name ${target.repository} --region ${target.region} --policy-text file://policy.json   # allowing ${role} the push actions`,
      },
    );
  }
  return pass(`ServiceAccount ${namespace}/${name} assumes ${role} through IRSA`);
}

function bothWays(ctx: CheckContext, namespace: string): string {
  return [
    'Either wire IRSA (EKS, or ROSA with STS): annotate the pipeline ServiceAccount with a role whose trust policy allows it:',
    `oc annotate serviceaccount ${ctx.options.serviceAccount} -n ${namespace} ${IRSA_ANNOTATION}=arn:aws:iam::<account>:role/<push role>`,
    'or mint a short-lived credentials Secret and mount it in the pipeline:',
    mintCommand(ctx, namespace),
  ].join('\n');
}
