import { type CheckContext, type CheckResult, type KubeSecret, defineCheck, fail, pass, skip } from '../src/plugin.ts';
import { cannotRead, describeError, LOGIN_AGAIN, NO_NAMESPACE, relative } from './aws-common.ts';
import { IRSA_ANNOTATION, mintCommand, namespaceOf } from './kube-common.ts';

const EXPIRES_AT = 'preflight.dev/expires-at';
const REQUIRED = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

export default defineCheck({
  id: 'credentials-secret',
  title: 'The AWS credentials Secret exists, works, and stays valid long enough',
  scope: 'laptop',
  inspects:
    'Secret --secret-name in the namespace: required keys, its preflight.dev/expires-at against --min-validity, and sts:GetCallerIdentity with the keys inside',
  appliesTo: (ctx) => (namespaceOf(ctx) === undefined ? NO_NAMESPACE : true),
  async run(ctx) {
    const namespace = namespaceOf(ctx);
    if (namespace === undefined) return skip(NO_NAMESPACE);
    const name = ctx.options.secretName;
    const mint = mintCommand(ctx, namespace);
    let secret: KubeSecret | undefined;
    try {
      secret = await ctx.kube.secret(namespace, name);
    } catch (error) {
      return cannotRead(ctx, error, `cannot read Secret ${namespace}/${name}`, LOGIN_AGAIN);
    }
    if (secret === undefined) {
      const sa = await ctx.kube.serviceAccount(namespace, ctx.options.serviceAccount).catch(() => undefined);
      if (sa?.annotations[IRSA_ANNOTATION] !== undefined)
        return skip(`no Secret ${name}: the pipeline uses IRSA (see check irsa)`);
      return fail(`Secret ${namespace}/${name} does not exist: the pipeline has no AWS credentials`, {
        remediation: `Mint it (after aws sso login):\n${mint}`,
      });
    }
    return secret.type === 'kubernetes.io/dockerconfigjson'
      ? registrySecret(ctx, namespace, name, secret, mint)
      : awsSecret(ctx, namespace, name, secret, mint);
  },
});

function expiry(
  ctx: CheckContext,
  namespace: string,
  name: string,
  secret: KubeSecret,
  mint: string,
): CheckResult | Date | undefined {
  const raw = secret.annotations[EXPIRES_AT];
  if (raw === undefined || raw === '') return undefined;
  const at = new Date(raw);
  if (Number.isNaN(at.getTime())) return undefined;
  const now = ctx.clock.now();
  if (at.getTime() <= now.getTime())
    return fail(`the credentials in Secret ${namespace}/${name} expired ${relative(at, now)} (${raw})`, {
      remediation: `Run preflight mint-creds:\n${mint}`,
    });
  if (at.getTime() - now.getTime() < ctx.options.minValidityMs) {
    return fail(
      `the credentials in Secret ${namespace}/${name} expire ${relative(at, now)}, sooner than --min-validity: the pipeline may die half-way through the push`,
      {
        remediation: `Rotate them now, and keep them rotated (deploy/k8s/ CronJob or --watch):\n${mint}`,
      },
    );
  }
  return at;
}

async function awsSecret(
  ctx: CheckContext,
  namespace: string,
  name: string,
  secret: KubeSecret,
  mint: string,
): Promise<CheckResult> {
  const missing = REQUIRED.filter((key) => (secret.data[key] ?? '') === '');
  if (missing.length > 0)
    return fail(`Secret ${namespace}/${name} lacks ${missing.join(', ')}`, {
      remediation: `Write it with all keys:\n${mint} --force`,
    });
  const expires = expiry(ctx, namespace, name, secret, mint);
  if (expires !== undefined && !(expires instanceof Date)) return expires;
  const keys = {
    accessKeyId: secret.data.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: secret.data.AWS_SECRET_ACCESS_KEY ?? '',
    ...(secret.data.AWS_SESSION_TOKEN === undefined ? {} : { sessionToken: secret.data.AWS_SESSION_TOKEN }),
  };
  let arn: string;
  try {
    arn = (await ctx.aws.identityOf(keys, secret.data.AWS_REGION)).arn;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return fail(`the credentials in Secret ${namespace}/${name} do not work: ${describeError(error).message}`, {
      remediation: `Mint fresh ones:\n${mint}`,
    });
  }
  const now = ctx.clock.now();
  const details = [
    `identity ${arn}`,
    expires === undefined
      ? 'no preflight.dev/expires-at annotation (not minted by preflight, or long-lived keys)'
      : `expires ${expires.toISOString()} (${relative(expires, now)})`,
  ];
  return pass(
    `Secret ${namespace}/${name} works (${arn})${expires === undefined ? '' : ` and stays valid ${relative(expires, now)}`}`,
    { details },
  );
}

function registrySecret(
  ctx: CheckContext,
  namespace: string,
  name: string,
  secret: KubeSecret,
  mint: string,
): CheckResult {
  let hosts: string[] = [];
  try {
    const parsed: unknown = JSON.parse(secret.data['.dockerconfigjson'] ?? '');
    const auths = typeof parsed === 'object' && parsed !== null && 'auths' in parsed ? parsed.auths : undefined;
    hosts = typeof auths === 'object' && auths !== null ? Object.keys(auths) : [];
  } catch {
    return fail(`Secret ${namespace}/${name} holds no valid .dockerconfigjson`, {
      remediation: `Rewrite it:\n${mint} --type registry --force`,
    });
  }
  const expires = expiry(ctx, namespace, name, secret, `${mint} --type registry`);
  if (expires !== undefined && !(expires instanceof Date)) return expires;
  if (hosts.length === 0)
    return fail(`Secret ${namespace}/${name} logs in to no registry (empty auths)`, {
      remediation: `Rewrite it:\n${mint} --type registry --force`,
    });
  return pass(
    `registry Secret ${namespace}/${name} logs in to ${hosts.join(', ')}${expires === undefined ? '' : ` until ${expires.toISOString()}`}`,
  );
}
