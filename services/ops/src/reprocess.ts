import type { ClickHouseClient } from '@clickhouse/client';
import { readRows } from '@parsl-usage/common';
import type { DecodeOutcome, MessageMeta } from '@parsl-usage/schemas';
import {
  JoinWindow,
  offsetOf,
  positionOf,
  processBatch,
  type RawMessage,
  type WorkflowSink,
} from '@parsl-usage/aggregator';

/** Past every position: `events` already holds every message reprocess reads. */
const EVERY_POSITION = 1n << 80n;

/** Tables that are derived from `events` (everything but the audit trail and the migration log). */
export function derivedTables(tables: { name: string; engine: string }[]): string[] {
  return tables
    .filter((t) => t.engine.endsWith('MergeTree') && t.name !== 'events' && t.name !== 'schema_migrations')
    .map((t) => t.name)
    .sort();
}

export interface EventSource {
  partitions(): Promise<number[]>;
  /**
   * Up to `limit` stored messages of `partition` after position `after` (offset and index in
   * the record, positionOf): the lowest positions, in any order within the page (the result
   * does not depend on it).
   */
  page(partition: number, after: bigint, limit: number): Promise<RawMessage[]>;
}

export function clickHouseEventSource(client: ClickHouseClient, database: string): EventSource {
  return {
    async partitions() {
      const rows = await readRows<{ p: number }>(
        client,
        `SELECT DISTINCT kafka_partition AS p FROM ${database}.events ORDER BY p`,
      );
      return rows.map((r) => Number(r.p));
    },
    async page(partition, after, limit) {
      const o = offsetOf(after).toString();
      const i = (after & 0xffffn).toString();
      const rows = await readRows<{ o: string; i: number; t: number; raw: string }>(
        client,
        // FINAL: a message recorded twice (a crash between the events insert and the commit) counts once.
        `SELECT toString(kafka_offset) AS o, kafka_index AS i, toUnixTimestamp(received_at) AS t, raw
         FROM ${database}.events FINAL
         WHERE kafka_partition = ${Math.trunc(partition)}
           AND (kafka_offset > ${o} OR (kafka_offset = ${o} AND kafka_index > ${i}))
         ORDER BY kafka_offset, kafka_index LIMIT ${Math.trunc(limit)}`,
      );
      return rows.map((r) => ({
        offset: r.o,
        index: Number(r.i),
        value: Buffer.from(r.raw, 'utf8'),
        receivedAtMs: Number(r.t) * 1000,
      }));
    },
  };
}

export interface ReprocessResult {
  partitions: number;
  messages: number;
  rows: number;
  rejected: number;
}

/**
 * Re-derives every change row from the audit trail with today's decode and normalisation.
 * The caller has emptied the derived tables; `events` is left as it is. Processing is the
 * aggregator's own, partition by partition in offset order, so with unchanged code the
 * rebuilt rows are identical to the originals (same offsets, same versions). The facts do not
 * depend on that order (the join is order-independent, infra/DESIGN.md): a source that returns
 * a partition's messages in another order rebuilds the same `workflows` and rollups.
 */
export async function reprocessFromEvents(deps: {
  source: EventSource;
  sink: Pick<WorkflowSink, 'lookup' | 'insertChanges'>;
  decode: (bytes: Buffer, meta: MessageMeta) => DecodeOutcome;
  pageSize?: number;
  now?: () => number;
  onProgress?: (p: { partition: number; offset: string; messages: number }) => void;
}): Promise<ReprocessResult> {
  const now = deps.now ?? Date.now;
  const pageSize = deps.pageSize ?? 20_000;
  const result: ReprocessResult = { partitions: 0, messages: 0, rows: 0, rejected: 0 };
  for (const partition of await deps.source.partitions()) {
    result.partitions++;
    // A window per partition: each is independent, exactly as in the live consumer.
    const window = new JoinWindow({ maxEntries: 1_000_000, windowMs: Number.MAX_SAFE_INTEGER });
    let after = -1n;
    for (;;) {
      const messages = await deps.source.page(partition, after, pageSize);
      if (messages.length === 0) break;
      // events already holds these messages: only the change rows are written again.
      const r = await processBatch(
        { decode: deps.decode, sink: deps.sink, window },
        partition,
        messages,
        { changes: -1n, events: EVERY_POSITION },
        now(),
      );
      await deps.sink.insertChanges(r.rows);
      window.markFlushed(partition);
      window.evict(now());
      result.messages += messages.length;
      result.rows += r.rows.length;
      result.rejected += r.rejected.length;
      // The highest position, not the last: a page is a range of positions, whatever its order.
      for (const m of messages) {
        const p = positionOf(m.offset, m.index ?? 0);
        if (p > after) after = p;
      }
      deps.onProgress?.({ partition, offset: offsetOf(after).toString(), messages: result.messages });
    }
  }
  return result;
}
