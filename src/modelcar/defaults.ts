/**
 * The default modelcar base: busybox has `sh`, `ln` and `sleep`, all KServe's modelcar sidecar needs.
 * Pin it by digest (`--base docker.io/library/busybox:1.37@sha256:…`) in production; the resolved
 * digest is recorded in the image's `org.opencontainers.image.base.digest` either way.
 */
export const DEFAULT_BASE = 'docker.io/library/busybox:1.37';
