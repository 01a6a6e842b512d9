import {
  type CheckContext,
  type CheckResult,
  type EcrUri,
  defineCheck,
  fail,
  parseEcrUri,
  pass,
  skip,
  warn,
} from '../src/plugin.ts';
import { nonEmpty } from './paths.ts';

const SHAPE = '<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]';
const NO_URI = 'no ECR repository given: set ECR_URI or pass --ecr-uri';

export default defineCheck({
  id: 'ecr-uri',
  title: 'ECR_URI names a valid ECR repository in AWS_REGION',
  scope: 'any',
  inspects:
    'ECR_URI / --ecr-uri: account, region, repository, tag and digest syntax, and its region against AWS_REGION',
  appliesTo: (ctx) => (nonEmpty(ctx.options.ecrUri) === undefined ? NO_URI : true),
  run: (ctx) => Promise.resolve(inspect(ctx)),
});

function inspect(ctx: CheckContext): CheckResult {
  const input = nonEmpty(ctx.options.ecrUri);
  if (input === undefined) return skip(NO_URI);
  const parsed = parseEcrUri(input);
  if (!parsed.ok && parsed.kind === 'not-ecr') {
    return warn(
      `ECR_URI "${input}" is not an ECR repository (${parsed.reason}): the ECR-specific checks (token, repository, region) will not apply`,
      {
        remediation: `If the pipeline pushes to ECR, point ECR_URI at the repository:\nexport ECR_URI=${SHAPE}`,
      },
    );
  }
  if (!parsed.ok) {
    return fail(`ECR_URI "${input}" is not a valid ECR repository URI: ${parsed.reason}`, {
      remediation:
        parsed.suggestion === undefined
          ? `Write it as ${SHAPE}:\nexport ECR_URI=${SHAPE}`
          : `Use the corrected form (the shape is ${SHAPE}):\nexport ECR_URI=${parsed.suggestion}`,
    });
  }
  const uri = parsed.value;
  const region = nonEmpty(ctx.options.awsRegion);
  const details = describe(uri);
  if (region !== undefined && region !== uri.region) {
    // GetAuthorizationToken answers for the caller's region only: that token gets a 401 elsewhere.
    return fail(
      `ECR_URI is in ${uri.region} but AWS_REGION is ${region}: an ECR token from ${region} is refused by the ${uri.region} registry`,
      {
        remediation: `Use the registry's region:\nexport AWS_REGION=${uri.region}\nor, if the repository lives in ${region}, fix the region in ECR_URI.`,
        details,
      },
    );
  }
  if (region === undefined) details.push(`AWS_REGION is unset; the registry is in ${uri.region}`);
  return pass(
    `ECR repository ${uri.repository}, tag ${uri.tag ?? (uri.digest === undefined ? 'latest (none given)' : 'none (by digest)')}, account ${uri.account}, region ${uri.region}`,
    { details },
  );
}

function describe(uri: EcrUri): string[] {
  const details = [`registry: ${uri.host}`];
  if (uri.digest !== undefined) details.push(`digest: ${uri.digest}`);
  if (uri.fips) details.push('endpoint: FIPS');
  if (uri.dualStack) details.push('endpoint: dual-stack (IPv4 and IPv6)');
  return details;
}
