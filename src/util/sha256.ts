import { createHash } from 'node:crypto';

/** The OCI digest of `bytes`: `sha256:<64 hex>`. */
export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
