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
  // Key -> slot. Map iteration order is insertion order, so re-inserting on touch makes the
  // first entry the least recently used.
  private readonly slots = new Map<string, number>();
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

  private key(partition: number, id: string): string {
    return `${partition}\u0000${id}`;
  }

  has(partition: number, id: string): boolean {
    return this.slots.has(this.key(partition, id));
  }

  /** undefined: not in memory, look in ClickHouse. */
  get(partition: number, id: string): WorkflowState | undefined {
    const slot = this.slots.get(this.key(partition, id));
    return slot === undefined ? undefined : this.store.read(slot, id);
  }

  /** Records a state that ClickHouse does not hold yet. */
  put(partition: number, state: WorkflowState, now: number): void {
    const k = this.key(partition, state.workflow_id);
    let slot = this.slots.get(k);
    if (slot === undefined) {
      slot = this.store.add(state);
    } else {
      this.slots.delete(k);
      this.store.replace(slot, state);
    }
    this.slots.set(k, slot);
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
    const k = this.key(partition, state.workflow_id);
    if (this.slots.has(k)) return;
    const slot = this.store.add(state);
    this.store.touch(slot, now);
    this.store.setDirty(slot, false);
    this.slots.set(k, slot);
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

  /** Drops every entry of partitions this instance no longer owns: another consumer may change them. */
  dropPartitionsExcept(owned: ReadonlySet<number>): void {
    for (const [k, slot] of this.slots) {
      const p = Number(k.slice(0, k.indexOf('\u0000')));
      if (!owned.has(p)) {
        if (this.store.isDirty(slot)) this.dirtyCount--;
        this.store.setDirty(slot, false);
        this.store.remove(slot);
        this.slots.delete(k);
      }
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
    for (const [k, slot] of this.slots) {
      const over = this.slots.size > this.opts.maxEntries;
      if (!over && this.store.touchedAt(slot) >= oldest) break;
      if (this.store.isDirty(slot)) continue;
      this.store.remove(slot);
      this.slots.delete(k);
      evicted++;
    }
    return evicted;
  }

  get overCapacity(): boolean {
    return this.slots.size > this.opts.maxEntries;
  }
}
