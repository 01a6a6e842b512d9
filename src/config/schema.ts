import { z } from 'zod';
import { BUILDERS, SCOPES } from './constants.ts';
import { parseDuration, parseSize } from './units.ts';

const duration = z.string().refine((v) => parseDuration(v) !== undefined, {
  message: 'must be a duration such as 15s, 2m or 1h30m',
});
const size = z.union([
  z.number().int().nonnegative(),
  z.string().refine((v) => parseSize(v) !== undefined, { message: 'must be a size such as 48GiB or 512MiB' }),
]);
const idList = z.array(z.string().min(1));

/** Values a check run accepts, wherever they come from. */
export { BUILDERS, SCOPES } from './constants.ts';

/**
 * preflight.yaml. Strict: an unknown key is an error, because a misspelt key silently ignored is
 * how a pipeline ends up checked against the wrong settings. Secrets (KFP_TOKEN) are env-only.
 */
export const configFileSchema = z.strictObject({
  ecrUri: z.string().min(1).optional(),
  awsRegion: z.string().min(1).optional(),
  awsProfile: z.string().min(1).optional(),
  roleArn: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  dockerConfig: z.string().min(1).optional(),
  builder: z.enum(BUILDERS).optional(),
  modelDir: z.string().min(1).optional(),
  modelSize: size.optional(),
  manifests: z.array(z.string().min(1)).optional(),
  images: z.array(z.string().min(1)).optional(),
  baseImage: z.string().min(1).optional(),
  builderImage: z.string().min(1).optional(),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'must be os/arch[/variant], e.g. linux/amd64').optional(),
  plugins: z.array(z.string().min(1)).optional(),
  only: idList.optional(),
  skip: idList.optional(),
  timeout: duration.optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
  scope: z.enum(SCOPES).optional(),
  strict: z.boolean().optional(),
  serviceAccount: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a ServiceAccount name').optional(),
  secretName: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Secret name').optional(),
  minValidity: duration.optional(),
  kubeContext: z.string().min(1).optional(),
  gatedModel: z.boolean().optional(),
  hfSecretName: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Secret name').optional(),
  hfSecretKey: z.string().min(1).optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
