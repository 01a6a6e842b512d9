import { AwsError, UsageError } from '../errors.ts';
import { type AwsCredentials, type AwsSettings, clientConfig } from './clients.ts';

export interface CallerIdentity {
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
}

export async function getCallerIdentity(settings: AwsSettings): Promise<CallerIdentity> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const client = new STSClient(clientConfig(settings, 'STS'));
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    return { arn: out.Arn ?? '', account: out.Account ?? '', userId: out.UserId ?? '' };
  } finally {
    client.destroy();
  }
}

/** `arn:aws:sts::A:assumed-role/R/S`: temporary credentials of a role, which AWS calls a role session. */
export function isRoleSession(arn: string): boolean {
  return /^arn:aws[\w-]*:sts::\d{12}:assumed-role\//.test(arn);
}

/** AWS caps a role assumed with role-session credentials ("role chaining") at one hour. */
export const CHAINED_MAX_SECONDS = 3600;

export interface AssumedRole {
  readonly credentials: AwsCredentials & { readonly expiration: Date };
  readonly arn: string;
  readonly durationSeconds: number;
  /** The duration was lowered to the role-chaining cap. */
  readonly capped: boolean;
}

/**
 * AssumeRole for `durationSeconds`. When the caller is itself a role session (an SSO login is one),
 * AWS refuses more than an hour: use an hour and say so, unless the duration was asked for
 * explicitly, which is an error that explains the cap.
 */
export async function assumeRole(
  settings: AwsSettings,
  caller: CallerIdentity,
  options: {
    readonly roleArn: string;
    readonly durationSeconds: number;
    readonly explicit: boolean;
    readonly sessionName: string;
  },
): Promise<AssumedRole> {
  let duration = options.durationSeconds;
  let capped = false;
  if (isRoleSession(caller.arn) && duration > CHAINED_MAX_SECONDS) {
    if (options.explicit) {
      throw new UsageError(
        `--duration ${duration}s is longer than AWS allows here: ${caller.arn} is a role session, and a role assumed from one ("role chaining") lasts at most 1 hour`,
        {
          hint: 'drop --duration (preflight then uses 1h), or mint from long-lived IAM user credentials, or rotate with --watch / the rotation CronJob',
        },
      );
    }
    duration = CHAINED_MAX_SECONDS;
    capped = true;
  }
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  const client = new STSClient(clientConfig(settings, 'STS'));
  try {
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: options.roleArn,
        RoleSessionName: options.sessionName,
        DurationSeconds: duration,
      }),
    );
    const c = out.Credentials;
    if (
      c?.AccessKeyId === undefined ||
      c.SecretAccessKey === undefined ||
      c.SessionToken === undefined ||
      c.Expiration === undefined
    ) {
      throw new AwsError(`AssumeRole ${options.roleArn} returned no credentials`);
    }
    return {
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      },
      arn: out.AssumedRoleUser?.Arn ?? '',
      durationSeconds: duration,
      capped,
    };
  } finally {
    client.destroy();
  }
}
