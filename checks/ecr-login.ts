import { defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { appliesToEcr, cannotRead, ecrTarget, relative } from './aws-common.ts';

export default defineCheck({
  id: 'ecr-login',
  title: 'An ECR token logs in to the registry',
  scope: 'any',
  inspects: "ecr:GetAuthorizationToken, then GET /v2/ on the registry with that token; the token's expiry",
  appliesTo: appliesToEcr,
  async run(ctx) {
    const target = ecrTarget(ctx);
    if (typeof target === 'string') return skip(target);
    let login;
    try {
      login = await ctx.aws.ecrLogin(target.host, target.region);
    } catch (error) {
      return cannotRead(
        ctx,
        error,
        'no ECR login',
        'Allow ecr:GetAuthorizationToken on * for the identity (see check ecr-permissions).',
      );
    }
    const now = ctx.clock.now();
    const details = [
      `token expires ${login.expiresAt.toISOString()} (${relative(login.expiresAt, now)})`,
      `registry ${login.endpoint}`,
    ];
    if (login.status === 401 || login.status === 403) {
      return fail(`the registry refused the fresh ECR token (GET /v2/ answered ${login.status})`, {
        remediation:
          "The token is for another account or region than the registry: check that ECR_URI's account and region match AWS_REGION and the credentials.",
        details,
      });
    }
    if (login.status !== 200)
      return warn(`GET /v2/ with the ECR token answered ${login.status}, not 200`, {
        remediation: 'Retry; if it persists, check the network path to the registry (proxy, VPC endpoint).',
        details,
      });
    return pass(`ECR login works for ${target.host}; the token expires ${relative(login.expiresAt, now)}`, { details });
  },
});
