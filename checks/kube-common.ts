import type { CheckContext } from '../src/plugin.ts';

/** The namespace the kube checks look in: --namespace / DS_PROJECT. */
export function namespaceOf(ctx: CheckContext): string | undefined {
  const ns = ctx.options.namespace;
  return ns === undefined || ns === '' ? undefined : ns;
}

/** The pipeline uses IRSA when its ServiceAccount carries this annotation (EKS and ROSA alike). */
export const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';

export const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/[\w+=,.@/-]+$/;

export function mintCommand(ctx: CheckContext, namespace: string): string {
  return `preflight mint-creds --namespace ${namespace} --role-arn ${ctx.options.roleArn ?? 'arn:aws:iam::<account>:role/<push role>'}${ctx.options.secretName === 'aws-ecr-credentials' ? '' : ` --secret-name ${ctx.options.secretName}`}`;
}
