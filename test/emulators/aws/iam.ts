import { AwsError, type Answer, escapeXml, members, xmlAnswer } from './protocols.ts';
import type { AwsState, Identity } from './state.ts';

export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';

/**
 * IAM over the query protocol: SimulatePrincipalPolicy
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html) with the
 * decisions of `state.decide`: an action no policy allows is `implicitDeny`, never `allowed`.
 */
export function iam(state: AwsState, caller: Identity, params: URLSearchParams): Answer {
  const action = params.get('Action') ?? '';
  if (action !== 'SimulatePrincipalPolicy')
    throw new AwsError(400, 'InvalidAction', `Could not find operation ${action} for version 2010-05-08`);
  const source = params.get('PolicySourceArn') ?? '';
  if (state.simulationDenied)
    throw new AwsError(
      403,
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${source}`,
    );
  // PolicySourceArn names a user, group or role. A session (sts assumed-role ARN) is refused:
  // "InvalidInput … Invalid Entity Arn: arn:aws:sts::…:assumed-role/…" (github.com/newrelic/newrelic-lambda-cli/issues/96).
  if (!/^arn:aws[\w-]*:iam::\d{12}:(user|role|group)\/.+/.test(source))
    throw new AwsError(400, 'InvalidInput', `Invalid Entity Arn: ${source}`);
  const known = state.roles.has(source) || [...state.identities.values()].some((i) => i.arn === source);
  if (!known)
    throw new AwsError(
      404,
      'NoSuchEntity',
      `The ${source.includes(':role/') ? 'role' : 'user'} with name ${source.split('/').pop() ?? ''} cannot be found.`,
    );
  const actions = members(params, 'ActionNames');
  const resources = members(params, 'ResourceArns');
  const results = actions.flatMap((name) =>
    (resources.length === 0 ? ['*'] : resources).map((resource) => {
      const decision = state.decide(name);
      return `<member><EvalActionName>${escapeXml(name)}</EvalActionName><EvalResourceName>${escapeXml(resource)}</EvalResourceName><EvalDecision>${decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`;
    }),
  );
  return xmlAnswer(
    action,
    IAM_NAMESPACE,
    `<IsTruncated>false</IsTruncated><EvaluationResults>${results.join('')}</EvaluationResults>`,
  );
}
