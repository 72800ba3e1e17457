import type { WorkflowState } from './workflow-state.js';

interface Entry {
  state: WorkflowState;
  /** ms, server clock: when this entry was last touched */
  touchedAt: number;
  /** not yet acknowledged by ClickHouse: must not be evicted */
  dirty: boolean;
}

/**
 * The in-memory half of the join: workflows seen recently, per partition.
 * It is only a cache in front of ClickHouse's `workflows` table: an entry may be dropped
 * once ClickHouse holds it, because a late closure looks the launch up there. It is
 * bounded in count (`maxEntries`) and in age (`windowMs`). Pure: time comes in as `now`.
 */
const INTERNED_FIELDS = [
  'status',
  'protocol',
  'parsl_version',
  'parsl_release_date',
  'python_version',
  'python_minor',
  'platform',
  'os_release',
  'project_name',
  'day',
  'end_time',
  'start_time',
  'closure_received_at',
  'launch_received_at',
] as const;
const ARRAY_FIELDS = ['executors', 'providers', 'launchers', 'other_components'] as const;
const INTERN_MAX = 200_000; // distinct values kept; past it, values are stored as they come

/**
 * Most facts of a workflow repeat across millions of runs (versions, platforms, component
 * lists). Sharing one copy of each keeps a million open workflows in about half the memory.
 */
class Interner {
  private readonly strings = new Map<string, string>();
  private readonly arrays = new Map<string, string[]>();

  string(s: string): string {
    const have = this.strings.get(s);
    if (have !== undefined) return have;
    if (this.strings.size < INTERN_MAX) this.strings.set(s, s);
    return s;
  }

  array(a: string[]): string[] {
    if (a.length === 0) return EMPTY;
    const key = a.join('\u0000');
    const have = this.arrays.get(key);
    if (have) return have;
    const frozen = Object.freeze(a.map((x) => this.string(x))) as string[];
    if (this.arrays.size < INTERN_MAX) this.arrays.set(key, frozen);
    return frozen;
  }

  state(s: WorkflowState): WorkflowState {
    const out = { ...s };
    for (const f of INTERNED_FIELDS) (out as Record<string, unknown>)[f] = this.string(s[f]);
    for (const f of ARRAY_FIELDS) out[f] = this.array(s[f]);
    return out;
  }
}
const EMPTY = Object.freeze([]) as unknown as string[];

export class JoinWindow {
  private readonly interner = new Interner();
  // Map iteration order is insertion order, so re-inserting on touch makes the first entry the least recent.
  private readonly entries = new Map<string, Entry>();
  private dirtyCount = 0;

  constructor(private readonly opts: { maxEntries: number; windowMs: number }) {}

  get size(): number {
    return this.entries.size;
  }

  get dirty(): number {
    return this.dirtyCount;
  }

  private key(partition: number, id: string): string {
    return `${partition}\u0000${id}`;
  }

  /** undefined: not in memory, look in ClickHouse. */
  get(partition: number, id: string): WorkflowState | undefined {
    return this.entries.get(this.key(partition, id))?.state;
  }

  /** Records a state that ClickHouse does not hold yet. */
  put(partition: number, state: WorkflowState, now: number): void {
    const k = this.key(partition, state.workflow_id);
    const old = this.entries.get(k);
    if (old) {
      this.entries.delete(k);
      if (old.dirty) this.dirtyCount--;
    }
    this.entries.set(k, { state: this.interner.state(state), touchedAt: now, dirty: true });
    this.dirtyCount++;
  }

  /** Records a state read from ClickHouse (clean). Absent workflows are not cached. */
  remember(partition: number, state: WorkflowState, now: number): void {
    const k = this.key(partition, state.workflow_id);
    if (this.entries.has(k)) return;
    this.entries.set(k, { state: this.interner.state(state), touchedAt: now, dirty: false });
  }

  /** ClickHouse acknowledged everything of `partition` inserted so far. */
  markFlushed(partition: number): void {
    const prefix = `${partition}\u0000`;
    for (const [k, e] of this.entries) {
      if (e.dirty && k.startsWith(prefix)) {
        e.dirty = false;
        this.dirtyCount--;
      }
    }
  }

  /** Drops every entry of partitions this instance no longer owns: another consumer may change them. */
  dropPartitionsExcept(owned: ReadonlySet<number>): void {
    for (const [k, e] of this.entries) {
      const p = Number(k.slice(0, k.indexOf('\u0000')));
      if (!owned.has(p)) {
        if (e.dirty) this.dirtyCount--;
        this.entries.delete(k);
      }
    }
  }

  clear(): void {
    this.entries.clear();
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
    for (const [k, e] of this.entries) {
      const over = this.entries.size > this.opts.maxEntries;
      if (!over && e.touchedAt >= oldest) break;
      if (e.dirty) continue;
      this.entries.delete(k);
      evicted++;
    }
    return evicted;
  }

  get overCapacity(): boolean {
    return this.entries.size > this.opts.maxEntries;
  }
}
