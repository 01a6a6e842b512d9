import {
  type CheckContext,
  type CheckResult,
  type EcrProbe,
  type EcrUri,
  defineCheck,
  fail,
  parseEcrUri,
  pass,
  principalOf,
  skip,
  warn,
} from '../src/plugin.ts';
import { appliesToEcr, describeError, ecrTarget } from './aws-common.ts';

/**
 * What a preflight push or modelcar build calls on the destination repository, and nothing more:
 * HEAD of a blob (BatchCheckLayerAvailability), POST, PATCH and PUT of an upload (InitiateLayerUpload,
 * UploadLayerPart, CompleteLayerUpload; a resumed upload's status GET and a cancel belong to the same
 * session), PUT of the manifests (PutImage). No manifest or blob of the destination is read: the
 * modelcar contract is checked on the planned image, so a push-only role suffices.
 */
const PUSH_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
];
/** Reading an ECR base (its manifests, then its layers by GET or by a mount, which AWS authorizes as a download from the source). */
const BASE_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const TOKEN_ACTION = 'ecr:GetAuthorizationToken';

/** Actions needed on one resource, and how the policy and messages name it. */
interface Need {
  readonly sid: string;
  readonly resource: string;
  /** `team/model`, `base/busybox (the base)`; undefined for `*`. */
  readonly name: string | undefined;
  readonly actions: readonly string[];
}

export default defineCheck({
  id: 'ecr-permissions',
  title: 'The IAM identity may push to the ECR repository',
  scope: 'any',
  inspects:
    "iam:SimulatePrincipalPolicy for the caller's role or user over the ECR push actions; side-effect-free ECR probes when simulation is denied",
  appliesTo: appliesToEcr,
  async run(ctx) {
    const target = ecrTarget(ctx);
    if (typeof target === 'string') return skip(target);
    let principal: string;
    try {
      principal = principalOf((await ctx.aws.identity()).arn);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return fail(`cannot tell who is pushing: ${describeError(error).message}`, {
        remediation: describeError(error).hint ?? 'Fix the aws-credentials check first.',
      });
    }
    const needs = needsOf(ctx, target);
    let decisions;
    try {
      decisions = await Promise.all(needs.map((need) => ctx.aws.simulate(principal, need.actions, [need.resource])));
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return probeInstead(ctx, target, principal, needs, `the simulation failed: ${describeError(error).message}`);
    }
    const missingByNeed: Need[] = [];
    for (const [i, need] of needs.entries()) {
      const decided = decisions[i];
      if (decided === undefined || 'denied' in decided)
        return probeInstead(ctx, target, principal, needs, 'iam:SimulatePrincipalPolicy is not allowed');
      const missing = decided.filter((d) => d.decision !== 'allowed');
      if (missing.length > 0) missingByNeed.push({ ...need, actions: missing.map((d) => d.action) });
    }
    const count = needs.reduce((n, need) => n + need.actions.length, 0);
    if (missingByNeed.length === 0)
      return pass(`${principal} may push to ${target.repository} (${count} actions simulated)`);
    const explicit = decisions.flatMap((d) =>
      'denied' in d ? [] : d.filter((x) => x.decision === 'explicitDeny').map((x) => x.action),
    );
    const what = missingByNeed
      .map((need) => `${need.actions.join(', ')}${need.name === undefined ? '' : ` on ${need.name}`}`)
      .join('; ');
    return fail(`${principal} may not ${what}: a push fails with 403 DENIED`, {
      remediation: `${explicit.length > 0 ? `An explicit Deny blocks ${[...new Set(explicit)].join(', ')}: remove it (SCP, permission boundary or policy) first. ` : ''}Attach this policy to ${principal}:\n${policy(missingByNeed)}`,
    });
  },
});

/** The token on *, the push on the destination and, when the base is on ECR, its reads on the base's repository. */
function needsOf(ctx: CheckContext, target: EcrUri): Need[] {
  const needs: Need[] = [
    { sid: 'EcrLogin', resource: '*', name: undefined, actions: [TOKEN_ACTION] },
    { sid: 'EcrPush', resource: repositoryArn(target), name: target.repository, actions: PUSH_ACTIONS },
  ];
  const base = ctx.options.baseImage === undefined ? undefined : parseEcrUri(ctx.options.baseImage);
  if (base?.ok === true)
    needs.push({
      sid: 'EcrPullBase',
      resource: repositoryArn(base.value),
      name: `${base.value.repository} (the base)`,
      actions: BASE_ACTIONS,
    });
  return needs;
}

function repositoryArn(uri: EcrUri): string {
  return `arn:aws:ecr:${uri.region}:${uri.account}:repository/${uri.repository}`;
}

/** Probes reach the destination only: the base's reads stay unproven. */
async function probeInstead(
  ctx: CheckContext,
  target: EcrUri,
  principal: string,
  needs: readonly Need[],
  why: string,
): Promise<CheckResult> {
  const probes = await ctx.aws.probeEcr({ account: target.account, region: target.region, name: target.repository });
  const denied = probes.filter((p) => p.outcome === 'denied').map((p) => p.action);
  const proven = probes.filter((p) => p.outcome === 'allowed').map((p) => p.action);
  const details = probes.map(describeProbe);
  if (denied.length > 0) {
    return fail(
      `${principal} may not ${denied.join(', ')} (probed, because ${why}; the other push actions are unproven)`,
      { remediation: `Attach this policy to ${principal}:\n${policy(needs)}`, details },
    );
  }
  const unproven = [...new Set(needs.flatMap((n) => n.actions))].filter((a) => !proven.includes(a));
  const errors = probes.filter((p) => p.outcome === 'error');
  if (errors.length > 0 && proven.length === 0) {
    return fail(`could not probe ECR: ${errors.map((e) => e.detail ?? e.action).join('; ')}`, {
      remediation: 'Fix the ecr-repository and aws-credentials checks first.',
      details,
    });
  }
  return warn(
    `could not simulate the IAM policy (${why}); probes prove ${proven.join(', ')}, but not ${unproven.join(', ')}`,
    {
      remediation: `Ask an admin to allow iam:SimulatePrincipalPolicy on ${principal} so this check can prove the rest, or make sure the role has:\n${policy(needs)}`,
      details,
    },
  );
}

function describeProbe(probe: EcrProbe): string {
  return `${probe.action}: ${probe.outcome}${probe.detail === undefined ? '' : ` (${probe.detail})`}`;
}

/** The least policy that grants `needs`: one statement per resource. */
function policy(needs: readonly Need[]): string {
  const statements = needs
    .filter((n) => n.actions.length > 0)
    .map((n) => ({ Sid: n.sid, Effect: 'Allow', Action: [...new Set(n.actions)], Resource: n.resource }));
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2);
}
