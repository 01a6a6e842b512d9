// Option values and defaults the CLI needs to describe its flags. Kept apart from the valibot schema so
// that `--help`, `--version` and commands that never read a config do not load it.

export const BUILDERS = ['kaniko', 'buildah', 'podman', 'preflight'] as const;
export const SCOPES = ['laptop', 'pod', 'auto'] as const;

export const DEFAULTS = {
  timeout: '30s',
  concurrency: 4,
  platform: 'linux/amd64',
  scope: 'auto',
  serviceAccount: 'pipeline-runner',
  secretName: 'aws-ecr-credentials',
  minValidity: '3h',
  hfSecretName: 'hf-hub-secret',
  hfSecretKey: 'HF_TOKEN',
} as const;
