/**
 * `linux/arm64` and `linux/arm64/v8` are the same platform; otherwise a variant in the target must
 * match, and an image variant is accepted for a target without one (`linux/arm` runs `linux/arm/v7`).
 */
export function platformMatches(target: string, offered: string): boolean {
  const [os, arch, variant] = normalise(target);
  const [offeredOs, offeredArch, offeredVariant] = normalise(offered);
  return os === offeredOs && arch === offeredArch && (variant === undefined || variant === offeredVariant);
}

function normalise(platform: string): [string | undefined, string | undefined, string | undefined] {
  const [os, arch, variant] = platform.split('/');
  return [os, arch, arch === 'arm64' && variant === 'v8' ? undefined : variant];
}
