import { type CheckContext, type CheckResult, type EcrProbe, type EcrUri, defineCheck, fail, pass, principalOf, skip, warn } from '../src/plugin.ts';
import { appliesToEcr, describeError, ecrTarget } from './aws-common.ts';

/** What a docker/Kaniko/preflight push calls on the repository. */
const PUSH_ACTIONS = ['ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchGetImage'];
const MOUNT_ACTION = 'ecr:GetDownloadUrlForLayer';
const TOKEN_ACTION = 'ecr:GetAuthorizationToken';

export default defineCheck({
  id: 'ecr-permissions',
  title: 'The IAM identity may push to the ECR repository',
  scope: 'any',
  inspects: 'iam:SimulatePrincipalPolicy for the caller\'s role or user over the ECR push actions; side-effect-free ECR probes when simulation is denied',
  appliesTo: appliesToEcr,
  async run(ctx) {
    const target = ecrTarget(ctx);
    if (typeof target === 'string') return skip(target);
    const repoActions = [...PUSH_ACTIONS, ...(mounts(ctx, target) ? [MOUNT_ACTION] : [])];
    let principal: string;
    try {
      principal = principalOf((await ctx.aws.identity()).arn);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return fail(`cannot tell who is pushing: ${describeError(error).message}`, { remediation: describeError(error).hint ?? 'Fix the aws-credentials check first.' });
    }
    const repoArn = `arn:aws:ecr:${target.region}:${target.account}:repository/${target.repository}`;
    let token, repo;
    try {
      [token, repo] = await Promise.all([ctx.aws.simulate(principal, [TOKEN_ACTION], ['*']), ctx.aws.simulate(principal, repoActions, [repoArn])]);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return probeInstead(ctx, target, principal, repoActions, repoArn, `the simulation failed: ${describeError(error).message}`);
    }
    if ('denied' in token || 'denied' in repo) return probeInstead(ctx, target, principal, repoActions, repoArn, 'iam:SimulatePrincipalPolicy is not allowed');
    const missing = [...token, ...repo].filter((d) => d.decision !== 'allowed');
    if (missing.length === 0) return pass(`${principal} may push to ${target.repository} (${1 + repoActions.length} actions simulated)`);
    const explicit = missing.filter((d) => d.decision === 'explicitDeny').map((d) => d.action);
    return fail(`${principal} may not ${missing.map((d) => d.action).join(', ')} on ${target.repository}: a push fails with 403 DENIED`, {
      remediation: `${explicit.length > 0 ? `An explicit Deny blocks ${explicit.join(', ')}: remove it (SCP, permission boundary or policy) first. ` : ''}Attach this policy to ${principal}:\n${policy(missing.map((d) => d.action), repoArn)}`,
    });
  },
});

/** Blobs are mounted (and read) when the base image lives on the same registry. */
function mounts(ctx: CheckContext, target: EcrUri): boolean {
  const base = ctx.options.baseImage;
  return base !== undefined && base.toLowerCase().startsWith(`${target.host}/`);
}

async function probeInstead(ctx: CheckContext, target: EcrUri, principal: string, repoActions: readonly string[], repoArn: string, why: string): Promise<CheckResult> {
  const probes = await ctx.aws.probeEcr({ account: target.account, region: target.region, name: target.repository });
  const denied = probes.filter((p) => p.outcome === 'denied').map((p) => p.action);
  const proven = probes.filter((p) => p.outcome === 'allowed').map((p) => p.action);
  const details = probes.map(describeProbe);
  if (denied.length > 0) {
    return fail(`${principal} may not ${denied.join(', ')} (probed, because ${why}; the other push actions are unproven)`, { remediation: `Attach this policy to ${principal}:\n${policy([TOKEN_ACTION, ...repoActions], repoArn)}`, details });
  }
  const unproven = [TOKEN_ACTION, ...repoActions].filter((a) => !proven.includes(a));
  const errors = probes.filter((p) => p.outcome === 'error');
  if (errors.length > 0 && proven.length === 0) {
    return fail(`could not probe ECR: ${errors.map((e) => e.detail ?? e.action).join('; ')}`, { remediation: 'Fix the ecr-repository and aws-credentials checks first.', details });
  }
  return warn(`could not simulate the IAM policy (${why}); probes prove ${proven.join(', ')}, but not ${unproven.join(', ')}`, {
    remediation: `Ask an admin to allow iam:SimulatePrincipalPolicy on ${principal} so this check can prove the rest, or make sure the role has:\n${policy([TOKEN_ACTION, ...repoActions], repoArn)}`,
    details,
  });
}

function describeProbe(probe: EcrProbe): string {
  return `${probe.action}: ${probe.outcome}${probe.detail === undefined ? '' : ` (${probe.detail})`}`;
}

/** The least policy that grants `actions`: the token on *, the rest on the repository. */
export function policy(actions: readonly string[], repoArn: string): string {
  const unique = [...new Set(actions)];
  const statements = [
    ...(unique.includes(TOKEN_ACTION) ? [{ Sid: 'EcrLogin', Effect: 'Allow', Action: [TOKEN_ACTION], Resource: '*' }] : []),
    ...(unique.some((a) => a !== TOKEN_ACTION) ? [{ Sid: 'EcrPush', Effect: 'Allow', Action: unique.filter((a) => a !== TOKEN_ACTION), Resource: repoArn }] : []),
  ];
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2);
}
