/** `arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R` (IAM simulates roles, not sessions). SSO roles live under a path. */
export function principalOf(callerArn: string): string {
  const session = /^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (session === null) return callerArn;
  const [, partition = 'aws', account = '', role = ''] = session;
  // AWS SSO roles are created under /aws-reserved/sso.amazonaws.com/; the session ARN drops the path.
  const path = role.startsWith('AWSReservedSSO_') ? 'aws-reserved/sso.amazonaws.com/' : '';
  return `arn:${partition}:iam::${account}:role/${path}${role}`;
}
