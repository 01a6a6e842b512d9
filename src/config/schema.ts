import * as v from 'valibot';
import { BUILDERS, SCOPES } from './constants.ts';
import { parseDuration, parseSize } from './units.ts';

const text = v.pipe(v.string(), v.minLength(1, 'must not be empty'));
const duration = v.pipe(
  v.string(),
  v.check((s) => parseDuration(s) !== undefined, 'must be a duration such as 15s, 2m or 1h30m'),
);
const size = v.union([
  v.pipe(v.number(), v.integer(), v.minValue(0)),
  v.pipe(
    v.string(),
    v.check((s) => parseSize(s) !== undefined, 'must be a size such as 48GiB or 512MiB'),
  ),
]);
const kubeName = (what: string) =>
  v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, `must be a ${what} name`));

/** Values a check run accepts, wherever they come from. */
export { BUILDERS, SCOPES } from './constants.ts';

/**
 * preflight.yaml. Strict: an unknown key is an error, because a misspelt key silently ignored is
 * how a pipeline ends up checked against the wrong settings. Secrets (KFP_TOKEN) are env-only.
 */
export const configFileSchema = v.strictObject({
  ecrUri: v.optional(text),
  awsRegion: v.optional(text),
  awsProfile: v.optional(text),
  roleArn: v.optional(text),
  namespace: v.optional(text),
  dockerConfig: v.optional(text),
  builder: v.optional(v.picklist(BUILDERS)),
  modelDir: v.optional(text),
  modelSize: v.optional(size),
  manifests: v.optional(v.array(text)),
  images: v.optional(v.array(text)),
  baseImage: v.optional(text),
  builderImage: v.optional(text),
  platform: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'must be os/arch[/variant], e.g. linux/amd64')),
  ),
  plugins: v.optional(v.array(text)),
  only: v.optional(v.array(text)),
  skip: v.optional(v.array(text)),
  timeout: v.optional(duration),
  concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
  scope: v.optional(v.picklist(SCOPES)),
  strict: v.optional(v.boolean()),
  serviceAccount: v.optional(kubeName('ServiceAccount')),
  secretName: v.optional(kubeName('Secret')),
  minValidity: v.optional(duration),
  kubeContext: v.optional(text),
  gatedModel: v.optional(v.boolean()),
  hfSecretName: v.optional(kubeName('Secret')),
  hfSecretKey: v.optional(text),
});

export type ConfigFile = v.InferOutput<typeof configFileSchema>;
export type ConfigKey = keyof typeof configFileSchema.entries;
