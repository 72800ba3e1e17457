import type { EventRow, WorkflowChangeRow } from '@parsl-usage/schemas';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import type { DiffRow, OffsetRange } from './repair/view-repair-sql.js';
import type { WorkflowState } from './join/workflow-state.js';

/**
 * The narrow interfaces the stream processor is written against. The ClickHouse sink
 * (clickhouse-sink.ts) implements WorkflowSink; the kafkajs batch is seen through BatchContext.
 * Kept apart from both so that neither imports the other.
 */

/**
 * Where the sink stands for one partition: the highest positions (offset and index in the
 * record, position.ts) `workflow_changes` and `events` hold.
 */
export interface Watermark {
  changes: bigint;
  events: bigint;
}

/** What the aggregator needs from its sink; the only place that speaks SQL at run time. */
export interface WorkflowSink {
  /** One insert: all rows of one partition's flush. */
  insertChanges(rows: WorkflowChangeRow[]): Promise<void>;
  /** One insert: the decoded messages of one partition's batch. */
  insertEvents(rows: EventRow[]): Promise<void>;
  /** The current facts of these workflows, as last written. */
  lookup(ids: string[]): Promise<Map<string, WorkflowState>>;
  /** Highest positions (position.ts) per partition that the sink already holds (-1 when none). */
  watermarks(): Promise<Map<number, Watermark>>;
  /**
   * Calls `each` with the two filter hashes of every workflow id stored (some more than once;
   * id-hash.ts); resolves to the count. `progress` is awaited between chunks of the stream
   * (the caller heartbeats there).
   */
  forEachStoredHash(each: (h1: number, h2: number) => void, progress?: () => Promise<void>): Promise<number>;
  ping(): Promise<boolean>;
  /** `offset:seq` of every change row stored for these offsets of one partition. */
  storedChanges(r: OffsetRange): Promise<Set<string>>;
  /** What the view repair reads and writes, and the rollups it checks (view-repair.ts). */
  views(): Promise<{ port: ViewRepairPort; targets: readonly RollupTarget[] }>;
  /**
   * How many parts of this replica's Replicated tables, written at or before `at` (the server's
   * time; omitted: now, returned as `at`), its coordination service does not hold: the parts of
   * inserts answered 319 UNKNOWN_STATUS_OF_INSERT that are not (yet) confirmed. 0 without
   * replication.
   */
  unconfirmedParts(at?: string): Promise<{ at: string; parts: number }>;
}

/** One partition's batch in hand: what the writers need of kafkajs' EachBatchPayload. */
export interface BatchContext {
  readonly partition: number;
  /** Keeps the group membership alive during long waits (cheap to call often). */
  heartbeat(): Promise<void>;
  /** false once the consumer is stopping or a rebalance made the batch stale. */
  isActive(): boolean;
  /** Marks everything up to `lastOffset` consumed and commits lastOffset + 1. */
  commit(lastOffset: string): Promise<void>;
}

/** What the view repair (view-repair.ts) reads and writes. */
export interface ViewRepairPort {
  diff(t: RollupTarget, r: OffsetRange): Promise<DiffRow[]>;
  insertDiff(t: RollupTarget, rows: DiffRow[]): Promise<void>;
  /** Copies the range's new versions workflow_versions lacks; resolves to how many. */
  repairVersions(r: OffsetRange): Promise<number>;
  /** true while a replicated table of the database has parts still to fetch */
  replicationBacklog(): Promise<boolean>;
}
