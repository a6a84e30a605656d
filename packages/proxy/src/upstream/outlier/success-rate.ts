/**
 * Success-rate bookkeeping for outlier detection, after Envoy's `SuccessRateAccumulator`: requests
 * are counted into the current bucket while the previous interval's bucket is what the sweep
 * reads, so every decision uses one whole interval of traffic.
 */

interface Bucket {
  success: number;
  total: number;
}

export class SuccessRateAccumulator {
  private current: Bucket = { success: 0, total: 0 };
  private last: Bucket = { success: 0, total: 0 };

  record(success: boolean): void {
    this.current.total++;
    if (success) this.current.success++;
  }

  /** The interval ended: the bucket written so far becomes the one read, and a fresh one starts. */
  rotate(): void {
    this.last = this.current;
    this.current = { success: 0, total: 0 };
  }

  /** Success rate (percent) and request count of the last whole interval, or undefined without requests. */
  lastInterval(): { rate: number; volume: number } | undefined {
    if (this.last.total === 0) return undefined;
    return { rate: (this.last.success * 100) / this.last.total, volume: this.last.total };
  }
}

/**
 * Envoy's success-rate outlier threshold: `mean − factor × stdev` over the hosts' success rates
 * (population standard deviation). With rates {50, 100, 100, 100, 100} and factor 1.9 the mean is
 * 90, the stdev 20 and the threshold 52.
 */
export function successRateThreshold(
  rates: readonly number[],
  stdevFactor: number,
): {
  average: number;
  threshold: number;
} {
  const mean = rates.reduce((a, r) => a + r, 0) / rates.length;
  const variance = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length;
  return { average: mean, threshold: mean - stdevFactor * Math.sqrt(variance) };
}
