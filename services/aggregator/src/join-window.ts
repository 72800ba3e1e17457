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
  // Slots written since their partition's last flush, so a flush does not scan every entry.
  private readonly dirtyByPartition = new Map<number, number[]>();
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
      let list = this.dirtyByPartition.get(partition);
      if (list === undefined) this.dirtyByPartition.set(partition, (list = []));
      list.push(slot);
    }
  }

  /** Records a state read from ClickHouse (clean). Absent workflows are not cached. */
  remember(partition: number, state: WorkflowState, now: number): void {
    if (this.slots.get(partition, state.workflow_id) !== undefined) return;
    const slot = this.store.add(state);
    this.store.touch(slot, now);
    this.store.setDirty(slot, false);
    this.slots.add(partition, state.workflow_id, slot);
  }

  /** ClickHouse acknowledged everything of `partition` inserted so far. */
  markFlushed(partition: number): void {
    const list = this.dirtyByPartition.get(partition);
    if (list === undefined) return;
    for (const slot of list) {
      if (this.store.isDirty(slot)) {
        this.store.setDirty(slot, false);
        this.dirtyCount--;
      }
    }
    this.dirtyByPartition.delete(partition);
  }

  /**
   * Drops the states of `partition` that ClickHouse has not acknowledged: after an insert was
   * refused they may hold a message that never landed, so the next batch reads them afresh.
   */
  forgetDirty(partition: number): number {
    const list = this.dirtyByPartition.get(partition);
    if (list === undefined) return 0;
    let dropped = 0;
    for (const slot of list) {
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

  /** Drops every entry of partitions this instance no longer owns: another consumer may change them. */
  dropPartitionsExcept(owned: ReadonlySet<number>): void {
    for (let slot = this.slots.oldest(); slot !== undefined;) {
      const next = this.slots.newer(slot);
      if (!owned.has(this.slots.partitionOf(slot))) {
        if (this.store.isDirty(slot)) this.dirtyCount--;
        this.store.setDirty(slot, false);
        this.slots.remove(slot);
        this.store.remove(slot);
      }
      slot = next;
    }
    for (const p of [...this.dirtyByPartition.keys()]) if (!owned.has(p)) this.dirtyByPartition.delete(p);
  }

  clear(): void {
    this.slots.clear();
    this.store.clear();
    this.dirtyByPartition.clear();
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
