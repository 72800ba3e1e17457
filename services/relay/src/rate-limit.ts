/**
 * Token bucket per source address. Parsl sends at most two datagrams per workflow run, so a
 * source that exceeds the bucket is a flood (a misconfigured loop or an attack), not data we
 * want: rate-limited datagrams are counted by the caller and NOT published, not even to the
 * rejected topic, so that a flood cannot fill Kafka or the spool.
 *
 * Pure: the caller passes `nowMs`. Memory is bounded by `maxSources`; the table is a Map
 * kept in least-recently-seen order, and the oldest source is evicted when it is full. An
 * evicted source comes back with a full bucket, which only ever errs towards accepting.
 */
export interface RateLimitOptions {
  ratePerSec: number;
  burst: number;
  maxSources: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(private readonly opts: RateLimitOptions) {
    this.perMs = opts.ratePerSec / 1000;
  }

  /** true: let it through (one token taken); false: over the limit. */
  tryTake(source: string, nowMs: number): boolean {
    let b = this.buckets.get(source);
    if (b === undefined) {
      b = { tokens: this.opts.burst, lastMs: nowMs };
      if (this.buckets.size >= this.opts.maxSources) this.evictOldest();
    } else {
      // Re-insert to move the source to the young end of the Map's insertion order.
      this.buckets.delete(source);
      // A clock step backwards must not mint tokens, hence the max(0, ...).
      const elapsed = Math.max(0, nowMs - b.lastMs);
      b.tokens = Math.min(this.opts.burst, b.tokens + elapsed * this.perMs);
      b.lastMs = Math.max(b.lastMs, nowMs);
    }
    this.buckets.set(source, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    return false;
  }

  get size(): number {
    return this.buckets.size;
  }

  private evictOldest(): void {
    const oldest = this.buckets.keys().next();
    if (oldest.done !== true) this.buckets.delete(oldest.value);
  }
}
