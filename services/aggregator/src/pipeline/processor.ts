import type {
  DecodeOutcome,
  EventRow,
  MessageMeta,
  UsageEvent,
  WorkflowChangeRow,
} from '@parsl-usage/schemas';
import type { Watermark, WorkflowSink } from '../ports.js';
import type { IdFilter } from '../join/id-filter.js';
import type { JoinWindow } from '../join/join-window.js';
import { applyEvent, changeRows, isoDateTime } from '../join/workflow-state.js';
import { positionOf } from '../position.js';

export interface RawMessage {
  offset: string;
  /** the datagram's place in its record: 0 (or absent) unless the record is a pack */
  index?: number;
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
  index: number;
}

export interface BatchResult {
  /** datagrams in the batch (a pack counts its entries) */
  datagrams: number;
  rows: WorkflowChangeRow[];
  /** decoded messages not yet in `events` */
  events: EventRow[];
  rejected: RejectedMessage[];
  /** messages at or below the sink's watermark: applied before a crash, skipped now */
  skipped: number;
  /** ids asked of the sink (not in the window, and maybe stored) */
  lookedUp: number;
  applied: number;
  /** events that changed nothing (duplicates) */
  unchanged: number;
  /** the Kafka offset to commit through */
  lastOffset: string | null;
  /** the last message's position (position.ts) */
  lastPosition: bigint;
}

export interface ProcessorDeps {
  decode: (bytes: Buffer, meta: MessageMeta) => DecodeOutcome;
  sink: Pick<WorkflowSink, 'lookup'>;
  window: JoinWindow;
  /**
   * Every id the sink holds (see id-filter.ts). Ids it reports absent are new workflows and
   * skip the look-up; without it every id missing from the window is looked up.
   */
  filter?: Pick<IdFilter, 'mightContain' | 'add'>;
}

export type { Watermark } from '../ports.js';

export function eventRow(e: UsageEvent, index: number, raw: Buffer, insertedAt: string): EventRow {
  return {
    kafka_partition: e.kafkaPartition,
    kafka_offset: e.kafkaOffset,
    kafka_index: index,
    received_at: isoDateTime(e.receivedAtMs),
    workflow_id: e.workflowId,
    phase: e.phase,
    protocol: e.protocol,
    tracking_level: e.trackingLevel ?? 0,
    parsl_version: e.parslVersion ?? '',
    python_version: e.pythonVersion ?? '',
    platform: e.platform ?? '',
    project_name: e.projectName ?? '',
    raw: raw.toString('utf8'),
    inserted_at: insertedAt,
  };
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
  watermark: Watermark,
  now: number,
): Promise<BatchResult> {
  const result: BatchResult = {
    datagrams: messages.length,
    rows: [],
    events: [],
    rejected: [],
    skipped: 0,
    lookedUp: 0,
    applied: 0,
    unchanged: 0,
    lastOffset: null,
    lastPosition: -1n,
  };
  const decoded: Decoded = { events: [], indexes: [] };
  decodeBatch(deps, partition, messages, watermark, isoDateTime(now), result, decoded);
  const ids = new Set(decoded.events.map((e) => e.workflowId));
  const unknown = unknownIds(deps, partition, ids);
  result.lookedUp = unknown.length;
  if (unknown.length > 0) {
    for (const s of (await deps.sink.lookup(unknown)).values()) deps.window.remember(partition, s, now);
  }
  // Added before the rows are written: a failed insert leaves a harmless "maybe present".
  if (deps.filter !== undefined) for (const id of ids) deps.filter.add(id);
  applyDecoded(deps, partition, decoded, now, result);
  return result;
}

/** The events whose change rows are still to be made, each with its index in its record. */
interface Decoded {
  events: UsageEvent[];
  indexes: number[];
}

/**
 * Decodes the messages past the watermark: their events rows and rejections go into `result`,
 * the events whose change rows are still to be made into `decoded`.
 */
function decodeBatch(
  deps: ProcessorDeps,
  partition: number,
  messages: RawMessage[],
  watermark: Watermark,
  insertedAt: string,
  result: BatchResult,
  decoded: Decoded,
): void {
  for (const m of messages) {
    result.lastOffset = m.offset;
    const index = m.index ?? 0;
    const position = positionOf(m.offset, index);
    result.lastPosition = position;
    const applied = position <= watermark.changes;
    const recorded = position <= watermark.events;
    if (applied && recorded) {
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
      // A message the sink already applied was seen, and its rejection published, before.
      if (!applied) {
        result.rejected.push({
          value: bytes,
          reason: out.reason,
          detail: out.detail,
          partition,
          offset: m.offset,
          index,
        });
      }
      continue;
    }
    if (!recorded) result.events.push(eventRow(out.event, index, bytes, insertedAt));
    if (applied) result.skipped++;
    else {
      decoded.events.push(out.event);
      decoded.indexes.push(index);
    }
  }
}

/** The ids the window lacks and the sink may hold (every one, without a stored-id filter). */
function unknownIds(deps: ProcessorDeps, partition: number, ids: Set<string>): string[] {
  const filter = deps.filter;
  return [...ids].filter(
    (id) => !deps.window.has(partition, id) && (filter === undefined || filter.mightContain(id)),
  );
}

/** Folds each event into its workflow's state; a change becomes change rows in `result`. */
function applyDecoded(
  deps: ProcessorDeps,
  partition: number,
  decoded: Decoded,
  now: number,
  result: BatchResult,
): void {
  const { events, indexes } = decoded;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as UsageEvent;
    result.applied++;
    const prev = deps.window.get(partition, e.workflowId) ?? null;
    const r = applyEvent(prev, e);
    if (!r.changed) {
      result.unchanged++;
      continue;
    }
    const at = { kafkaPartition: partition, kafkaOffset: e.kafkaOffset, index: indexes[i] as number };
    result.rows.push(...changeRows(prev, r.next, at));
    deps.window.put(partition, r.next, now);
  }
}
