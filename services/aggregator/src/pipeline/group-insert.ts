/**
 * Group commit for ClickHouse inserts. Partitions are processed concurrently, and on 18.16 two
 * concurrent inserts into a table with materialized views are slower than the same two one
 * after the other (every insert writes a part into each view's table, and the merges of those
 * parts compete): at 5,000 events/s a batch's writes took about 1 s with three partitions
 * inserting at once and 0.2 s with one (BENCHMARKS.md). Here, rows submitted while an insert is
 * in flight wait for it and then go out together in the next one: one insert per table at a
 * time, as large as the load makes it.
 *
 * Most of an insert's cost on 18.16 is fixed (a part per view), so the rows of one Kafka fetch
 * should travel in one insert rather than the first partition's alone and the rest after it.
 * `holdWhile` says that more rows are on their way (other partitions of the fetch are still
 * being processed): the insert then waits for them, up to `maxHoldMs` after the first rows of
 * the group arrived. The caller calls `poke()` when `holdWhile` may have become false.
 *
 * Each submitter learns the outcome of the insert that carried its rows. A failed insert
 * rejects every submitter in it; each then decides (from the sink's watermarks) whether to
 * submit again, so a partial failure is handled per Kafka partition, as before.
 */
export interface GroupInsertOptions {
  holdWhile?: () => boolean;
  maxHoldMs?: number;
}

export class GroupInsert<Row> {
  private pending: { rows: Row[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;
  private firstPendingAt = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly insert: (rows: Row[]) => Promise<void>,
    private readonly opts: GroupInsertOptions = {},
  ) {}

  /** Resolves once an insert holding `rows` succeeded; rejects with that insert's error. */
  submit(rows: Row[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) this.firstPendingAt = Date.now();
      this.pending.push({ rows, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** `holdWhile` may have changed: a held insert looks again. */
  poke(): void {
    this.wake?.();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        await this.gather();
        const group = this.pending;
        this.pending = [];
        const rows = group.length === 1 ? (group[0]?.rows ?? []) : group.flatMap((g) => g.rows);
        try {
          await this.insert(rows);
          for (const g of group) g.resolve();
        } catch (err) {
          for (const g of group) g.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Lets submissions made in the same turn join (one macrotask), then waits while `holdWhile`
   * holds, up to `maxHoldMs` after the group's first rows arrived.
   */
  private async gather(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const { holdWhile, maxHoldMs = 0 } = this.opts;
    if (holdWhile === undefined) return;
    for (;;) {
      const left = this.firstPendingAt + maxHoldMs - Date.now();
      if (left <= 0 || !holdWhile()) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        this.wake = done;
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
      });
      this.wake = undefined;
    }
  }
}
