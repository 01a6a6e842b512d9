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
export const manifestSchema = v.object({ mediaType: v.optional(v.string()), config: descriptorSchema, layers: v.array(descriptorSchema) });
export const configPlatformSchema = v.looseObject({ os: v.optional(v.string()), architecture: v.optional(v.string()), variant: v.optional(v.string()) });
export const jsonObjectSchema = v.record(v.string(), v.unknown());

/** The first problem with `value`, as `path: message` (or just the message at the top level). */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const [issue] = issues;
  if (issue === undefined) return 'unexpected content';
  const path = v.getDotPath(issue);
  return path === null ? issue.message : `${path}: ${issue.message}`;
}
