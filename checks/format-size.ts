const UNITS = [
  { name: 'PiB', bytes: 1024 ** 5 },
  { name: 'TiB', bytes: 1024 ** 4 },
  { name: 'GiB', bytes: 1024 ** 3 },
  { name: 'MiB', bytes: 1024 ** 2 },
  { name: 'KiB', bytes: 1024 },
];

export const GiB = 1024 ** 3;

/** `51539607552` → `48.0 GiB`: one decimal, binary units, as `--model-size` accepts them. */
export function formatBytes(bytes: number): string {
  const unit = UNITS.find((u) => bytes >= u.bytes);
  return unit === undefined ? `${bytes} B` : `${(bytes / unit.bytes).toFixed(1)} ${unit.name}`;
}

/** A Kubernetes quantity covering `bytes`, rounded up to whole Gi so the request is never short. */
export function kubernetesGi(bytes: number): string {
  return `${Math.max(1, Math.ceil(bytes / GiB))}Gi`;
}
