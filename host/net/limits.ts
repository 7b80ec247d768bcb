// The object size limits every receiver shares (gateway, folder watcher, verify pool) and how
// byte counts are written for people. Apart from scp.ts so that naming them (in --help, in a
// verify worker) does not load the network stack.

export const DEFAULT_MAX_OBJECT_BYTES = 1 << 30;
export const DEFAULT_MAX_BUFFERED_BYTES = 2 ** 31;

/** Byte counts for people: 1 GiB, 512 MiB, 3000 bytes. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;
}
