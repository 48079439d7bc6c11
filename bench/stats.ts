// Order statistics the benchmarks report: the element at floor(q * n) of the sorted values (the
// upper median for q = 0.5), so a reported figure is always one that was measured.

/** NaN for no values. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** The item whose key is the median of the keys (a whole run, not a blend of runs). */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)];
}
