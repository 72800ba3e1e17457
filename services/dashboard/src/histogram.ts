/**
 * The execution-time histogram of rollup_exec_time: bucket 0 is [0, 1) s, bucket k >= 1 is
 * [2^((k-1)/4), 2^(k/4)) s. A quantile is reported at its bucket's geometric middle, as the
 * execution_time_quantiles view does, so it is within +-9.5 % of the exact value.
 */
export function bucketBounds(k: number): { lower: number; upper: number } {
  return { lower: k === 0 ? 0 : 2 ** ((k - 1) / 4), upper: 2 ** (k / 4) };
}

export function bucketMiddle(k: number): number {
  return k === 0 ? 0.5 : 2 ** ((k - 0.5) / 4);
}

/** Seconds at each quantile q (0 < q <= 1); null when the histogram is empty. */
export function histogramQuantiles(
  hist: readonly { bucket: number; runs: number }[],
  qs: readonly number[],
): (number | null)[] {
  const sorted = [...hist].filter((h) => h.runs > 0).sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((s, h) => s + h.runs, 0);
  return qs.map((q) => {
    if (total === 0) return null;
    let acc = 0;
    for (const h of sorted) {
      acc += h.runs;
      if (acc >= q * total) return bucketMiddle(h.bucket);
    }
    return bucketMiddle((sorted[sorted.length - 1] as { bucket: number }).bucket);
  });
}
