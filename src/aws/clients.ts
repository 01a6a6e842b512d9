import { ConfigError } from '../errors.ts';

/** AWS credentials, structurally what the SDK takes. Never logged, never put in an error. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Where AWS calls go and as whom: region, credentials, and an endpoint override (AWS_ENDPOINT_URL). */
export interface AwsSettings {
  readonly region: string;
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly maxAttempts?: number;
}

/** The SDK config every client gets; endpoints honour `AWS_ENDPOINT_URL_<SERVICE>` then `AWS_ENDPOINT_URL`, as the SDK does. */
export function clientConfig(
  settings: AwsSettings,
  service: 'ECR' | 'STS' | 'IAM',
): { region: string; credentials: AwsSettings['credentials']; maxAttempts: number; endpoint?: string } {
  const endpoint = settings.env[`AWS_ENDPOINT_URL_${service}`] ?? settings.env.AWS_ENDPOINT_URL;
  return {
    region: service === 'IAM' ? 'us-east-1' : settings.region,
    credentials: settings.credentials,
    maxAttempts: settings.maxAttempts ?? 4,
    ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }),
  };
}

/**
 * Region: the flag, then AWS_REGION / AWS_DEFAULT_REGION, then the ECR URI's region. (The SDK's own
 * profile lookup applies when none of these is set and a client resolves it.)
 */
export function resolveRegion(options: {
  readonly region?: string | undefined;
  readonly ecrRegion?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}): string {
  const region =
    options.region ?? nonEmpty(options.env.AWS_REGION) ?? nonEmpty(options.env.AWS_DEFAULT_REGION) ?? options.ecrRegion;
  if (region === undefined)
    throw new ConfigError(
      'no AWS region: none of --aws-region, AWS_REGION, AWS_DEFAULT_REGION or the ECR URI gives one',
      { hint: 'export AWS_REGION=eu-west-1 (the region of the ECR repository)' },
    );
  return region;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
