/**
 * Known pipeline failures: what the log says, why, and what to do. Data, not code: each entry's
 * `examples` are real log lines (from Kaniko, ECR, the kubelet, kubectl and the AWS CLI/SDKs as
 * users reported them) and double as the test fixtures, so a pattern cannot drift from what the
 * tools print. Order matters: the first entry a line matches wins it.
 */
export interface KnownFailure {
  readonly id: string;
  readonly title: string;
  readonly patterns: readonly RegExp[];
  readonly cause: string;
  readonly fix: string;
  readonly examples: readonly string[];
}

export const CATALOGUE: readonly KnownFailure[] = [
  {
    id: 'ecr-token-expired',
    title: 'ECR authorization token expired',
    patterns: [/authorization token has expired/i],
    cause:
      'The registry login came from ecr:GetAuthorizationToken more than 12 hours ago (or from credentials that have since expired).',
    fix: 'Mint a fresh token and keep it rotated: preflight mint-creds --type registry --ecr-uri "$ECR_URI", plus the rotation CronJob in deploy/k8s/.',
    examples: [
      'error pushing image: failed to push to destination 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1: DENIED: Your authorization token has expired. Reauthenticate and try again.',
      "denied: Your Authorization Token has expired. Please run 'aws ecr get-login --no-include-email' to fetch a new one.",
    ],
  },
  {
    id: 'ecr-permission-denied',
    title: 'ECR 403: the IAM identity lacks a push action',
    patterns: [/is not authorized to perform: ecr:\w+/],
    cause:
      'The credentials work, but the role or user they belong to is not allowed one of the ECR push actions on this repository (the action is named in the log line).',
    fix: 'Run preflight check --only ecr-permissions: it lists every missing action and prints the minimal IAM policy to attach to the role.',
    examples: [
      'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/model:b263001f": POST https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/team/model/blobs/uploads/: DENIED: User: arn:aws:sts::123456789012:assumed-role/eks-NodeInstanceRole/i-0abc123 is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/team/model',
      'An error occurred (AccessDeniedException) when calling the GetAuthorizationToken operation: User: arn:aws:sts::123456789012:assumed-role/pipeline/botocore-session-1 is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action',
    ],
  },
  {
    id: 'kaniko-not-authorized',
    title: 'Kaniko got 401 Not Authorized from ECR',
    patterns: [/401 Unauthorized: Not Authorized/i, /UNAUTHORIZED: Not Authorized/],
    cause:
      'Kaniko sent no valid ECR login: no config.json entry (or ecr-login helper credentials) for the registry host, an expired token, or IRSA not wired for the pod.',
    fix: 'Give Kaniko a login: preflight mint-creds --type registry and mount the Secret as /kaniko/.docker/config.json (README, "Kaniko with the registry Secret"), or wire IRSA; check with preflight check --only irsa,credentials-secret,ecr-login.',
    examples: [
      'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "111111111111.dkr.ecr.us-east-2.amazonaws.com/cs/svc:master": POST https://111111111111.dkr.ecr.us-east-2.amazonaws.com/v2/cs/svc/blobs/uploads/: unexpected status code 401 Unauthorized: Not Authorized',
    ],
  },
  {
    id: 'ecr-repository-missing',
    title: 'The ECR repository does not exist',
    patterns: [
      /NAME_UNKNOWN/,
      /repository with name '[^']+' does not exist/i,
      /blobs\/uploads\/\S*"?: (EOF|.*connection reset by peer|.*broken pipe)/i,
      /blobs\/uploads\/\S*"?: unexpected status code 404/i,
    ],
    cause:
      'ECR has no repository of that name in the account and region: pushes to it get 404 NAME_UNKNOWN, or the connection is dropped (EOF, connection reset) instead of an error.',
    fix: 'Create it (or fix the name in ECR_URI): aws ecr create-repository --repository-name NAME --region REGION; preflight check --only ecr-repository confirms.',
    examples: [
      'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tezos-ci": Post "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/tezos-ci/blobs/uploads/": EOF',
      "name unknown: The repository with name 'team/model' does not exist in the registry with id '123456789012'",
      'error pushing image: failed to push to destination 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1: Put "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/team/model/blobs/uploads/f3b1?digest=sha256%3A4e5f": write tcp 10.128.2.17:40312->52.95.1.1:443: write: connection reset by peer',
    ],
  },
  {
    id: 'ecr-layer-part-too-small',
    title: 'ECR rejected an upload part under 5 MiB',
    patterns: [/LayerPartTooSmall/i],
    cause:
      'ECR requires every chunk of a chunked blob upload but the last to be at least 5 MiB; the pushing tool sent smaller PATCHes.',
    fix: 'Use chunks of 5 to 10 MiB (preflight push/modelcar build: --chunk-size 8MiB, the default) or a tool that uploads monolithically.',
    examples: [
      'An error occurred (LayerPartTooSmallException) when calling the UploadLayerPart operation: Layer part size must be greater than or equal to 5242880 bytes',
    ],
  },
  {
    id: 'ecr-layer-limit',
    title: 'ECR: too many layers in one image (405)',
    patterns: [/Limit on number of layers per image exceeded/i],
    cause:
      'The image manifest lists more layers than ECR accepts per image, and ECR answers the manifest PUT with 405 UNSUPPORTED.',
    fix: "Use at most 500 layers, the base's included: preflight modelcar build groups large files to stay within --max-layers (auto: 500 on ECR); for Dockerfile builds, merge COPY/RUN steps.",
    examples: [
      'Error: UnexpectedHTTPStatusCode(when: "pushing manifest", code: 405, details: "{\\"errors\\":[{\\"code\\":\\"UNSUPPORTED\\",\\"message\\":\\"Invalid parameter at \'ImageManifest\' failed to satisfy constraint: \'Limit on number of layers per image exceeded\'\\"}]}")',
    ],
  },
  {
    id: 'no-aws-credentials',
    title: 'No AWS credentials in the pipeline',
    patterns: [
      /Unable to locate credentials/,
      /NoCredentialProviders/,
      /Could not load credentials from any providers/,
    ],
    cause:
      'Nothing in the pod provides AWS credentials: no AWS_* keys from a Secret, no IRSA web identity, no profile.',
    fix: 'Mint a credentials Secret (preflight mint-creds) and mount it as env, or wire IRSA on the pipeline ServiceAccount; preflight check --only irsa,credentials-secret shows which is missing.',
    examples: [
      'Unable to locate credentials. You can configure credentials by running "aws configure".',
      'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1": NoCredentialProviders: no valid providers in chain. Deprecated.',
      'CredentialsProviderError: Could not load credentials from any providers',
    ],
  },
  {
    id: 'registry-authentication-required',
    title: 'The registry wants a login',
    patterns: [/unauthorized: authentication required/i],
    cause:
      'The pull or push ran without credentials for that registry (a private base image, or a destination with no config.json entry).',
    fix: 'Provide a login for that registry host in DOCKER_CONFIG/config.json (for ECR: preflight mint-creds --type registry); preflight check --only docker-config verifies it.',
    examples: [
      'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "index.docker.io/team/app:94ade237": UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:team/app Type:repository] map[Action:push Class: Name:team/app Type:repository]]',
    ],
  },
  {
    id: 'exec-format-error',
    title: 'exec format error: image built for another CPU',
    patterns: [/exec format error/i],
    cause:
      'The image (or its base) was built for another architecture, typically arm64 on an Apple Silicon laptop, and the node is x86_64 (or the reverse).',
    fix: "Rebuild for the nodes' platform: preflight modelcar build --platform linux/amd64 (or podman build --platform linux/amd64); preflight check --only image-architecture,node-architecture catches it before the run.",
    examples: [
      'exec /usr/bin/python3: exec format error',
      'standard_init_linux.go:228: exec user process caused: exec format error',
    ],
  },
  {
    id: 'docker-config-permission',
    title: 'Cannot create ~/.docker under a random UID',
    patterns: [/mkdir [^\s:]*\.docker: permission denied/i, /[^\s:]*\.docker\/config\.json: permission denied/i],
    cause:
      'OpenShift runs the pod under a random UID with no passwd entry: HOME is / (or not writable), so the tool cannot create $HOME/.docker.',
    fix: 'Point the tools at a writable place: env HOME=/tmp and DOCKER_CONFIG=/tmp/.docker (or mount the registry Secret there); preflight check --only docker-config,runtime-user verifies it.',
    examples: [
      'Error saving credentials: mkdir /.docker: permission denied',
      'WARNING: Error loading config file: open /.docker/config.json: permission denied',
    ],
  },
  {
    id: 'kaniko-needs-root',
    title: 'Kaniko cannot chown/chmod: it needs root',
    patterns: [/(chown|chmod) [^:\n]+: operation not permitted/i],
    cause:
      "Kaniko unpacks the base image and must own every file it writes; under OpenShift's restricted SCC it runs as a random non-root UID and the kernel refuses chown.",
    fix: 'For modelcars use preflight modelcar build, which needs no root and no unpacking; otherwise run Kaniko under an SCC that allows root (anyuid) and with /kaniko writable.',
    examples: [
      'error building image: error building stage: failed to get filesystem from image: chown /etc/gshadow: operation not permitted',
      'Error: error resolving dockerfile path: copying dockerfile: chown /kaniko/Dockerfile: operation not permitted',
      'error building image: error building stage: chmod  /: operation not permitted',
      'error building image: error building stage: failed to get filesystem from image: chown /tmp/kaniko: operation not permitted',
    ],
  },
  {
    id: 'ephemeral-storage',
    title: 'Node ran out of ephemeral storage',
    patterns: [/low on resource: ephemeral-storage/i],
    cause:
      "The build spooled image layers to the node's disk (Kaniko snapshots, buildah/skopeo temp copies of a 48 GB model) until the kubelet evicted the pod.",
    fix: 'Stream instead of spooling: preflight modelcar build writes nothing to temp disk; otherwise request ephemeral-storage of at least twice the model size or put the build dir on a PVC.',
    examples: [
      'The node was low on resource: ephemeral-storage. Container step-build was using 52428800Ki, which exceeds its request of 0.',
    ],
  },
  {
    id: 'oom-killed',
    title: 'Out of memory (OOMKilled, exit 137)',
    patterns: [/OOMKilled/, /exit(ed with)? code:?\s+137\b/i],
    cause:
      'The container exceeded its memory limit; Kaniko snapshotting a large multi-stage build, or a tool buffering a model in memory, is the usual reason.',
    fix: 'Use preflight modelcar build (constant memory, about 150 MiB) for modelcars; for Kaniko raise the memory limit, add --snapshot-mode=redo and --single-snapshot, and split stages.',
    examples: [
      '    Last State:     Terminated\n      Reason:       OOMKilled',
      'command terminated with exit code 137',
      'Exit Code:    137',
    ],
  },
  {
    id: 'security-context-misplaced',
    title: 'securityContext at the wrong level',
    patterns: [
      /unknown field "[^"]*securityContext[^"]*"/,
      /ValidationError\([^)]*[Ss]ecurityContext\): unknown field/,
    ],
    cause:
      'Pod-level fields (fsGroup, runAsNonRoot for the pod) and container-level fields (allowPrivilegeEscalation, capabilities) live in different places; a Tekton Task has no spec.securityContext at all.',
    fix: 'Put fsGroup/supplementalGroups under spec.securityContext of the pod (Tekton: the TaskRun podTemplate, KFP: the pod spec patch) and allowPrivilegeEscalation/capabilities under each container or step securityContext; preflight check --manifests verifies it.',
    examples: [
      'Error from server (BadRequest): error when creating "task.yaml": Task in version "v1" cannot be handled as a Task: strict decoding error: unknown field "spec.securityContext"',
      'error: error validating "pod.yaml": error validating data: ValidationError(Pod.spec.containers[0].securityContext): unknown field "fsGroup" in io.k8s.api.core.v1.SecurityContext; if you choose to ignore these errors, turn validation off with --validate=false',
    ],
  },
];
