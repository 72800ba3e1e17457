import type { DecodeOutcome, MessageMeta, WorkflowChangeRow } from '@parsl-usage/schemas';
import type { WorkflowSink } from './clickhouse-sink.js';
import type { JoinWindow } from './join-window.js';
import { applyEvent, changeRows, type WorkflowState } from './workflow-state.js';

export interface RawMessage {
  offset: string;
  value: Buffer | null;
  /** ms; from the relay's received_at_ms header, else the Kafka timestamp */
  receivedAtMs: number;
}

export interface RejectedMessage {
  value: Buffer;
  reason: string;
  detail: string;
  partition: number;
  offset: string;
}

export interface BatchResult {
  rows: WorkflowChangeRow[];
  rejected: RejectedMessage[];
  /** messages at or below the sink's watermark: applied before a crash, skipped now */
  skipped: number;
  events: number;
  /** events that changed nothing (duplicates) */
  unchanged: number;
  lastOffset: string | null;
}

export interface ProcessorDeps {
  decode: (bytes: Buffer, meta: MessageMeta) => DecodeOutcome;
  sink: Pick<WorkflowSink, 'lookup'>;
  window: JoinWindow;
}

/**
 * Turns one partition's batch into the change rows of one insert. Messages at or below
 * `watermark` are already in ClickHouse (the insert happened, the commit did not) and are
 * skipped, which is what makes a crash between insert and commit change no number.
 */
export async function processBatch(
  deps: ProcessorDeps,
  partition: number,
  messages: RawMessage[],
  watermark: bigint,
  now: number,
): Promise<BatchResult> {
  const result: BatchResult = {
    rows: [],
    rejected: [],
    skipped: 0,
    events: 0,
    unchanged: 0,
    lastOffset: null,
  };
  const decoded = [];
  for (const m of messages) {
    result.lastOffset = m.offset;
    if (BigInt(m.offset) <= watermark) {
      result.skipped++;
      continue;
    }
    const bytes = m.value ?? Buffer.alloc(0);
    const out = deps.decode(bytes, {
      receivedAtMs: m.receivedAtMs,
      kafkaPartition: partition,
      kafkaOffset: m.offset,
    });
    if (out.kind === 'rejected') {
      result.rejected.push({
        value: bytes,
        reason: out.reason,
        detail: out.detail,
        partition,
        offset: m.offset,
      });
      continue;
    }
    decoded.push(out.event);
  }

  const unknown = [...new Set(decoded.map((e) => e.workflowId))].filter(
    (id) => deps.window.get(partition, id) === undefined,
  );
  const stored = unknown.length > 0 ? await deps.sink.lookup(unknown) : new Map<string, WorkflowState>();
  for (const s of stored.values()) deps.window.remember(partition, s, now);

  for (const e of decoded) {
    result.events++;
    const prev = deps.window.get(partition, e.workflowId) ?? null;
    const r = applyEvent(prev, e);
    if (!r.changed) {
      result.unchanged++;
      continue;
    }
    result.rows.push(...changeRows(prev, r.next, { kafkaPartition: partition, kafkaOffset: e.kafkaOffset }));
    deps.window.put(partition, r.next, now);
  }
  return result;
}
