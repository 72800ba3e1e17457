import { KeyIndex } from './key-index.js';
import { StateStore } from './state-store.js';
import type { WorkflowState } from './workflow-state.js';

/**
 * The in-memory half of the join: workflows seen recently, per partition.
 * It is only a cache in front of ClickHouse's `workflows` table: an entry may be dropped
 * once ClickHouse holds it, because a late closure looks the launch up there. It is
 * bounded in count (`maxEntries`) and in age (`windowMs`). Pure: time comes in as `now`.
 * The states themselves are packed in a StateStore (about 160 B each, see state-store.ts).
 */
export class JoinWindow {
  private readonly store = new StateStore();
  // (partition, id) -> slot, oldest first (see key-index.ts).
  private readonly slots = new KeyIndex();
  // Slots written and not yet acknowledged, per partition, each with the sequence number of the
  // last batch that wrote it: batches are written in the background (partition-lanes.ts), so batch
  // N+1 may change a workflow before batch N's rows land, and N's landing must not clean it.
  private readonly dirtyByPartition = new Map<number, Map<number, number>>();
  private readonly batchSeq = new Map<number, number>();
  private dirtyCount = 0;

  constructor(private readonly opts: { maxEntries: number; windowMs: number }) {}

  get size(): number {
    return this.slots.size;
  }

  get dirty(): number {
    return this.dirtyCount;
  }

  has(partition: number, id: string): boolean {
    return this.slots.get(partition, id) !== undefined;
  }

  /** undefined: not in memory, look in ClickHouse. */
  get(partition: number, id: string): WorkflowState | undefined {
    const slot = this.slots.get(partition, id);
    return slot === undefined ? undefined : this.store.read(slot, id);
  }

  /**
   * A batch of `partition` starts: the states it puts carry the returned sequence number, which
   * its landing hands to markFlushed.
   */
  beginBatch(partition: number): number {
    const seq = (this.batchSeq.get(partition) ?? 0) + 1;
    this.batchSeq.set(partition, seq);
    return seq;
  }

  /** Records a state that ClickHouse does not hold yet. */
  put(partition: number, state: WorkflowState, now: number): void {
    let slot = this.slots.get(partition, state.workflow_id);
    if (slot === undefined) {
      slot = this.store.add(state);
      this.slots.add(partition, state.workflow_id, slot);
    } else {
      this.store.replace(slot, state);
      this.slots.touch(slot);
    }
    this.store.touch(slot, now);
    if (!this.store.isDirty(slot)) {
      this.store.setDirty(slot, true);
      this.dirtyCount++;
    }
    let dirty = this.dirtyByPartition.get(partition);
    if (dirty === undefined) this.dirtyByPartition.set(partition, (dirty = new Map<number, number>()));
    dirty.set(slot, this.batchSeq.get(partition) ?? 0);
  }

  /** Records a state read from ClickHouse (clean). Absent workflows are not cached. */
  remember(partition: number, state: WorkflowState, now: number): void {
    if (this.slots.get(partition, state.workflow_id) !== undefined) return;
    const slot = this.store.add(state);
    this.store.touch(slot, now);
    this.store.setDirty(slot, false);
    this.slots.add(partition, state.workflow_id, slot);
  }

  /**
   * ClickHouse acknowledged the rows of `partition`'s batches up to sequence number `through`
   * (beginBatch; all of them by default): the states they wrote last become clean.
   */
  markFlushed(partition: number, through = Number.POSITIVE_INFINITY): void {
    const dirty = this.dirtyByPartition.get(partition);
    if (dirty === undefined) return;
    for (const [slot, seq] of dirty) {
      if (seq > through) continue;
      dirty.delete(slot);
      if (this.store.isDirty(slot)) {
        this.store.setDirty(slot, false);
        this.dirtyCount--;
      }
    }
    if (dirty.size === 0) this.dirtyByPartition.delete(partition);
  }

  /**
   * Drops the states of `partition` that ClickHouse has not acknowledged: after an insert was
   * refused they may hold a message that never landed, so the next batch reads them afresh.
   */
  forgetDirty(partition: number): number {
    const dirty = this.dirtyByPartition.get(partition);
    if (dirty === undefined) return 0;
    let dropped = 0;
    for (const slot of dirty.keys()) {
      if (!this.store.isDirty(slot)) continue;
      this.store.setDirty(slot, false);
      this.dirtyCount--;
      this.slots.remove(slot);
      this.store.remove(slot);
      dropped++;
    }
    this.dirtyByPartition.delete(partition);
    return dropped;
  }

  /**
   * Drops every entry of `partition`, clean or dirty, and returns how many. For a batch of it
   * that failed: kafkajs reads the partition again from its committed offset, and its dirty
   * states may hold messages that never landed or landed in part (an insert cut by a crash), so
   * it starts again from what ClickHouse holds. The other partitions keep theirs: kafkajs lets
   * every batch of the same fetch settle before it fetches again (its worker queue waits for all
   * of them), so each of their entries is either what ClickHouse holds (clean) or the state of a
   * batch of their own still being written, which ends in markFlushed or in its own failure.
   * It walks the whole window (about 0.2 s at 1,000,000 entries, a sixth of them dropped, on this
   * project's 2-core test machine): failures are rare, and a full clear costs far more in look-ups.
   */
  clearPartition(partition: number): number {
    return this.dropWhere((p) => p === partition);
  }

  /** Drops every entry of partitions this instance no longer owns: another consumer may change them. */
  dropPartitionsExcept(owned: ReadonlySet<number>): void {
    this.dropWhere((p) => !owned.has(p));
  }

  private dropWhere(drop: (partition: number) => boolean): number {
    let dropped = 0;
    for (let slot = this.slots.oldest(); slot !== undefined;) {
      const next = this.slots.newer(slot);
      if (drop(this.slots.partitionOf(slot))) {
        if (this.store.isDirty(slot)) this.dirtyCount--;
        this.store.setDirty(slot, false);
        this.slots.remove(slot);
        this.store.remove(slot);
        dropped++;
      }
      slot = next;
    }
    for (const p of [...this.dirtyByPartition.keys()]) if (drop(p)) this.dirtyByPartition.delete(p);
    return dropped;
  }

  clear(): void {
    this.slots.clear();
    this.store.clear();
    this.dirtyByPartition.clear();
    // batchSeq is kept: sequence numbers never repeat, so a late landing cannot clean a newer state.
    this.dirtyCount = 0;
  }

  /**
   * Evicts clean entries older than the window, then the least recently used clean
   * entries above the cap. Returns how many were evicted. When only dirty entries
   * remain above the cap, the caller must flush first (`overCapacity`).
   */
  evict(now: number): number {
    let evicted = 0;
    const oldest = now - this.opts.windowMs;
    for (let slot = this.slots.oldest(); slot !== undefined;) {
      const next = this.slots.newer(slot);
      const over = this.slots.size > this.opts.maxEntries;
      if (!over && this.store.touchedAt(slot) >= oldest) break;
      if (!this.store.isDirty(slot)) {
        this.slots.remove(slot);
        this.store.remove(slot);
        evicted++;
      }
      slot = next;
    }
    return evicted;
  }

  get overCapacity(): boolean {
    return this.slots.size > this.opts.maxEntries;
  }
}
