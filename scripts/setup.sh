#!/usr/bin/env bash
# npm run setup: everything a clean clone needs before `npm test`.
# 1. npm dependencies (node@24 comes in as a devDependency, so scripts run on Node 24 here);
# 2. the real test components from Debian (registry, skopeo, umoci, busybox-static), installed with
#    apt-get when missing and we are root. Under CI=true a component that is still missing fails
#    the setup: a test must never skip silently because its component is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

# binary → Debian package
declare -A COMPONENTS=(
  [docker-registry]=docker-registry
  [aws]=awscli
  [skopeo]=skopeo
  [umoci]=umoci
  [busybox]=busybox-static
  [setpriv]=util-linux
  [openssl]=openssl
  [htpasswd]=apache2-utils
  [ip]=iproute2
  [unshare]=util-linux
)

# Debian's own binary, not whatever is first on PATH: this machine kind has a pyenv shim named
# `aws` (a pip awscli) that would hide a missing Debian awscli, and the tests run /usr/bin/aws.
debian_has() { [ -x "/usr/bin/$1" ] || [ -x "/usr/sbin/$1" ]; }

missing=()
for bin in "${!COMPONENTS[@]}"; do
  debian_has "$bin" || missing+=("${COMPONENTS[$bin]}")
done

if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing test components: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The registry's post-install tries to start a system service; the tests start their own.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  missing=()
  for bin in "${!COMPONENTS[@]}"; do
    debian_has "$bin" || missing+=("${COMPONENTS[$bin]}")
  done
fi

# kubectl for test/e2e/kubectl.test.ts: Debian's kubernetes-client (1.20), extracted rather than
# installed because another package may own /usr/bin/kubectl (a newer kubectl); the test runs
# /opt/kubernetes-client/usr/bin/kubectl (or $PREFLIGHT_KUBECTL).
KUBECTL_DIR=/opt/kubernetes-client
if [ ! -x "$KUBECTL_DIR/usr/bin/kubectl" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: extracting Debian's kubernetes-client into $KUBECTL_DIR"
  deb_dir="$(mktemp -d)"
  fetch_deb() { (cd "$deb_dir" && apt-get download -qq -o APT::Sandbox::User=root kubernetes-client </dev/null); }
  fetch_deb || { apt-get update -qq && fetch_deb; }
  mkdir -p "$KUBECTL_DIR" && dpkg-deb -x "$deb_dir"/kubernetes-client_*.deb "$KUBECTL_DIR"
  rm -rf "$deb_dir"
fi
[ -x "$KUBECTL_DIR/usr/bin/kubectl" ] || missing+=(kubernetes-client)

if [ "${#missing[@]}" -gt 0 ]; then
  msg="setup: missing test components: ${missing[*]} (install them with apt-get as root)"
  if [ "${CI:-}" = "true" ]; then echo "$msg" >&2; exit 1; fi
  echo "$msg; the tests that need them will fail" >&2
fi
npm run build
echo "setup: done (node $(npm exec --offline -- node --version 2>/dev/null))"
