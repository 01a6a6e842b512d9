import { defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { describeError } from './aws-common.ts';

const REMEDIATION =
  'Log in and export a fresh token (it is read from the environment only):\nexport KFP_TOKEN=$(oc whoami -t)';

export default defineCheck({
  id: 'kfp-token',
  title: 'KFP_TOKEN is set and the cluster accepts it',
  scope: 'laptop',
  inspects:
    'the KFP_TOKEN environment variable, through a SelfSubjectReview made with it against the cluster of the kubeconfig',
  appliesTo: (ctx) =>
    ctx.options.hasKfpToken || (ctx.options.namespace ?? '') !== ''
      ? true
      : 'neither KFP_TOKEN nor a namespace (DS_PROJECT) is set: no KFP pipeline to submit',
  async run(ctx) {
    const token = ctx.env.KFP_TOKEN ?? '';
    if (token === '')
      return warn('KFP_TOKEN is not set: the KFP client cannot submit the pipeline', { remediation: REMEDIATION });
    let user: string | undefined;
    try {
      user = await ctx.kube.reviewToken(token);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const { message } = describeError(error);
      if (/401|Unauthorized|rejected the credentials/i.test(message))
        return fail('the cluster rejects KFP_TOKEN (401 Unauthorized): it has expired or belongs to another cluster', {
          remediation: REMEDIATION,
        });
      return fail(`cannot verify KFP_TOKEN: ${message.replace(token, '<KFP_TOKEN>')}`, {
        remediation: 'Log in to the cluster (oc login) so the kubeconfig points at it, then try again.',
      });
    }
    return user === undefined
      ? skip('the cluster is too old for SelfSubjectReview (Kubernetes < 1.28): KFP_TOKEN cannot be verified')
      : pass(`the cluster accepts KFP_TOKEN as ${user}`);
  },
});
