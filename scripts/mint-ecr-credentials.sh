#!/usr/bin/env bash
# The interface teams already use (DS_PROJECT, ROLE_ARN in the environment), now a thin wrapper:
# preflight mint-creds does the minting, verification, RBAC check and conditional Secret update.
#
#   aws sso login --profile dev
#   DS_PROJECT=team-a ROLE_ARN=arn:aws:iam::123456789012:role/ecr-push ./scripts/mint-ecr-credentials.sh
#
# Optional: SECRET_NAME (default aws-ecr-credentials), AWS_PROFILE, AWS_REGION; any further
# arguments go to preflight mint-creds as they are (e.g. --type both --ecr-uri "$ECR_URI").
set -euo pipefail

if [[ -z "${DS_PROJECT:-}" ]]; then
  echo "mint-ecr-credentials: DS_PROJECT is not set; export DS_PROJECT=<your data science project (namespace)>" >&2
  exit 2
fi
if [[ -z "${ROLE_ARN:-}" ]]; then
  echo "mint-ecr-credentials: ROLE_ARN is not set; export ROLE_ARN=arn:aws:iam::<account>:role/<role that may push to ECR>" >&2
  exit 2
fi

# An installed preflight, else this checkout's (after npm run build). Either way the bin checks the
# Node.js version before anything else and says in one line which one it needs (exit 1), so this
# script has no copy of that check to drift.
if command -v preflight >/dev/null 2>&1; then
  run=(preflight)
else
  run=("${NODE:-node}" "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/preflight.js")
fi

args=(mint-creds --namespace "$DS_PROJECT" --role-arn "$ROLE_ARN")
if [[ -n "${SECRET_NAME:-}" ]]; then args+=(--secret-name "$SECRET_NAME"); fi
exec "${run[@]}" "${args[@]}" "$@"
