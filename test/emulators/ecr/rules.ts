const MiB = 1024 * 1024;

/** ECR's limits on a push. Every one is on by default; see `ECR_LIMITS` for where each number comes from. */
export interface EcrLimits {
  readonly minPartBytes: number;
  readonly maxPartBytes: number;
  readonly maxParts: number;
  readonly maxLayerBytes: number;
  readonly maxManifestBytes: number;
  readonly maxLayersPerImage: number;
}

export const ECR_LIMITS: EcrLimits = {
  // "Amazon ECR service quotas" (docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html):
  // "Minimum layer part size: 5 (MiB)", not adjustable.
  minPartBytes: 5 * MiB,
  // Same page: "Maximum layer part size: 10 (MiB)", not adjustable.
  maxPartBytes: 10 * MiB,
  // Same page: "Layer parts: 4,200", not adjustable.
  maxParts: 4200,
  // Same page: "Maximum layer size: 52,000 (MiB)", not adjustable.
  maxLayerBytes: 52_000 * MiB,
  // The image manifest size quota (4 MiB), the same ceiling src/registry/manifest.ts refuses at.
  maxManifestBytes: 4 * MiB,
  // Undocumented: 405 UNSUPPORTED "Limit on number of layers per image exceeded" (openai/tart#890),
  // measured at 500 by spinframework/spin#1787 and nuonco/nuon#2348.
  maxLayersPerImage: 500,
};

/** ECR stores sha256 digests only. */
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** ECR's repository name pattern (CreateRepository's `repositoryName`), anchored. */
export const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** The IAM action each registry request needs, as ECR's proxy maps them (ECR user guide, "Repository policies"). */
export const ACTIONS = {
  headBlob: 'ecr:BatchCheckLayerAvailability',
  getBlob: 'ecr:GetDownloadUrlForLayer',
  startUpload: 'ecr:InitiateLayerUpload',
  uploadPart: 'ecr:UploadLayerPart',
  completeUpload: 'ecr:CompleteLayerUpload',
  putManifest: 'ecr:PutImage',
  getManifest: 'ecr:BatchGetImage',
  listTags: 'ecr:ListImages',
} as const;
