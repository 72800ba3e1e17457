/**
 * Answers kept for a fixed time, at most `maxEntries` of them (least recently used out first).
 * Concurrent requests for a key that is being computed share that computation. Failures are
 * not kept: the next request tries again.
 */
export type CacheOutcome = 'hit' | 'shared' | 'miss';

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(key: string, compute: () => Promise<V>): Promise<{ value: V; outcome: CacheOutcome }> {
    const e = this.entries.get(key);
    if (e && e.expiresAt > this.now()) {
      // Re-insert to mark as recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, e);
      return { value: e.value, outcome: 'hit' };
    }
    if (e) this.entries.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return { value: await inFlight, outcome: 'shared' };
    return { value: await this.compute(key, compute), outcome: 'miss' };
  }

  /**
   * Computes `key` again and keeps the new value, while readers are still served the entry
   * it replaces (so a warmer can renew an answer before it expires without anyone waiting).
   * A computation already in flight for the key is shared, not repeated.
   */
  refresh(key: string, compute: () => Promise<V>): Promise<V> {
    return this.pending.get(key) ?? this.compute(key, compute);
  }

  private async compute(key: string, compute: () => Promise<V>): Promise<V> {
    const p = compute();
    this.pending.set(key, p);
    try {
      const value = await p;
      if (this.ttlMs > 0) {
        this.entries.delete(key);
        this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
        while (this.entries.size > this.maxEntries) {
          const oldest = this.entries.keys().next().value as string;
          this.entries.delete(oldest);
        }
      }
      return value;
    } finally {
      this.pending.delete(key);
    }
  }
}
