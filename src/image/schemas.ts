import * as v from 'valibot';

// The OCI JSON shapes preflight reads (layouts, archives, registry manifests). Only the fields it
// uses are checked; unknown fields pass, as the image spec requires of readers.
export const digestSchema = v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>'));
export const sizeSchema = v.pipe(v.number(), v.integer(), v.minValue(0));
export const platformSchema = v.object({ os: v.string(), architecture: v.string(), variant: v.optional(v.string()) });
export const descriptorSchema = v.object({
  mediaType: v.string(),
  digest: digestSchema,
  size: sizeSchema,
  annotations: v.optional(v.record(v.string(), v.string())),
  platform: v.optional(platformSchema),
});
export type Descriptor = v.InferOutput<typeof descriptorSchema>;
export const indexSchema = v.object({ mediaType: v.optional(v.string()), manifests: v.array(descriptorSchema) });
export const manifestSchema = v.object({
  mediaType: v.optional(v.string()),
  config: descriptorSchema,
  layers: v.array(descriptorSchema),
});
export const configPlatformSchema = v.looseObject({
  os: v.optional(v.string()),
  architecture: v.optional(v.string()),
  variant: v.optional(v.string()),
});
export const jsonObjectSchema = v.record(v.string(), v.unknown());

/**
 * The first problem with `value`, as `path: problem` (or just the problem at the top level). valibot's
 * own messages quote the value received ('Expected string but received "root:$6$…"'), and that value
 * may be a secret from a file a link pointed at: those say only what was expected.
 */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const [issue] = issues;
  if (issue === undefined) return 'unexpected content';
  const problem = issue.message.includes(issue.received)
    ? issue.expected === null
      ? `invalid ${issue.type}`
      : `expected ${issue.expected}`
    : issue.message;
  const path = v.getDotPath(issue);
  return path === null ? problem : `${path}: ${problem}`;
}
