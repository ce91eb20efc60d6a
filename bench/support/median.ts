/** The median of measurements: robust to the one round a GC pause or a noisy neighbour spoiled. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no measurements");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
