import { defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { describeError, ecrTarget, loginCommand, relative } from './aws-common.ts';

/** A push of a large model takes a while: credentials that die sooner will fail it half-way. */
const SHORT_MS = 60 * 60_000;

export default defineCheck({
  id: 'aws-credentials',
  title: 'AWS credentials resolve and sts:GetCallerIdentity works',
  scope: 'any',
  inspects:
    'the AWS credential chain (AWS_PROFILE / --aws-profile incl. SSO, env keys, IRSA web identity) and sts:GetCallerIdentity',
  appliesTo: (ctx) => {
    const target = ecrTarget(ctx);
    return typeof target === 'string' && ctx.options.awsProfile === undefined ? target : true;
  },
  async run(ctx) {
    let identity;
    try {
      identity = await ctx.aws.identity();
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const { message, hint } = describeError(error);
      return fail(message, { remediation: hint ?? `Log in and try again:\n${loginCommand(ctx)}` });
    }
    const now = ctx.clock.now();
    const details = [
      `account ${identity.account}`,
      identity.expiresAt === undefined
        ? 'long-lived keys (no expiry)'
        : `expires ${identity.expiresAt.toISOString()} (${relative(identity.expiresAt, now)})`,
    ];
    if (identity.expiresAt !== undefined && identity.expiresAt.getTime() - now.getTime() < SHORT_MS) {
      return warn(
        `AWS credentials of ${identity.arn} expire ${relative(identity.expiresAt, now)}: a long push may outlive them`,
        { remediation: `Refresh them before the pipeline runs:\n${loginCommand(ctx)}`, details },
      );
    }
    if (ctx.scope === 'laptop' && identity.expiresAt === undefined && /:user\//.test(identity.arn)) {
      return pass(`AWS credentials work: ${identity.arn} (long-lived IAM user keys; prefer SSO)`, { details });
    }
    return identity.arn === ''
      ? skip('GetCallerIdentity returned no ARN')
      : pass(`AWS credentials work: ${identity.arn}`, { details });
  },
});
