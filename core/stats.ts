// One percentile rule for the whole project: linear interpolation between closest ranks, as k6 computes its trends.

/** The q-quantile (0..1) of values already sorted ascending; 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The p-th percentile (0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  return quantile(
    [...values].sort((a, b) => a - b),
    p / 100,
  );
}
