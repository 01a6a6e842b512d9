import { randomBytes } from 'node:crypto';
import { AwsError, type Answer, escapeXml, xmlAnswer } from './protocols.ts';
import { type AwsState, type Identity, awsId, secret } from './state.ts';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** STS over the query protocol: GetCallerIdentity and AssumeRole with AWS's duration rules. */
export function sts(state: AwsState, caller: Identity, params: URLSearchParams): Answer {
  const action = params.get('Action') ?? '';
  if (action === 'GetCallerIdentity') {
    return xmlAnswer(
      action,
      STS_NAMESPACE,
      `<Arn>${escapeXml(caller.arn)}</Arn><UserId>${escapeXml(caller.userId)}</UserId><Account>${caller.account}</Account>`,
    );
  }
  if (action === 'AssumeRole') return assumeRole(state, caller, params);
  throw new AwsError(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
}

function assumeRole(state: AwsState, caller: Identity, params: URLSearchParams): Answer {
  const roleArn = params.get('RoleArn') ?? '';
  const sessionName = params.get('RoleSessionName') ?? '';
  const duration = Number(params.get('DurationSeconds') ?? '3600');
  const role = state.roles.get(roleArn);
  if (role === undefined || (role.trusts !== undefined && !role.trusts(caller.arn))) {
    throw new AwsError(
      403,
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    );
  }
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
    throw new AwsError(
      400,
      'ValidationError',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`,
    );
  if (!Number.isInteger(duration) || duration < 900)
    throw new AwsError(
      400,
      'ValidationError',
      `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
    );
  if (caller.kind === 'session' && duration > 3600) {
    throw new AwsError(
      400,
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  }
  if (duration > role.maxSessionDurationSeconds)
    throw new AwsError(
      400,
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  const account = roleArn.split(':')[4] ?? '';
  const roleName = roleArn.split('/').pop() ?? '';
  const roleId = awsId('AROA', 21);
  const session = state.add({
    accessKeyId: awsId('ASIA'),
    secretAccessKey: secret(),
    sessionToken: randomBytes(96).toString('base64'),
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
    account,
    userId: `${roleId}:${sessionName}`,
    expiresAt: new Date(state.now().getTime() + duration * 1000),
    kind: 'session',
  });
  const credentials = `<Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${escapeXml(session.secretAccessKey)}</SecretAccessKey><SessionToken>${escapeXml(session.sessionToken ?? '')}</SessionToken><Expiration>${(session.expiresAt ?? new Date()).toISOString()}</Expiration></Credentials>`;
  return xmlAnswer(
    'AssumeRole',
    STS_NAMESPACE,
    `${credentials}<AssumedRoleUser><AssumedRoleId>${escapeXml(session.userId)}</AssumedRoleId><Arn>${escapeXml(session.arn)}</Arn></AssumedRoleUser>`,
  );
}
