/**
 * Group commit for ClickHouse inserts. Partitions are processed concurrently, and on 18.16 two
 * concurrent inserts into a table with materialized views are slower than the same two one
 * after the other (every insert writes a part into each view's table, and the merges of those
 * parts compete): at 5,000 events/s a batch's writes took about 1 s with three partitions
 * inserting at once and 0.2 s with one (BENCHMARKS.md). Here, rows submitted while an insert is
 * in flight wait for it and then go out together in the next one: one insert per table at a
 * time, as large as the load makes it, with no timer.
 *
 * Each submitter learns the outcome of the insert that carried its rows. A failed insert
 * rejects every submitter in it; each then decides (from the sink's watermarks) whether to
 * submit again, so a partial failure is handled per Kafka partition, as before.
 */
export class GroupInsert<Row> {
  private pending: { rows: Row[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;

  constructor(private readonly insert: (rows: Row[]) => Promise<void>) {}

  /** Resolves once an insert holding `rows` succeeded; rejects with that insert's error. */
  submit(rows: Row[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
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
}
