import { RefusedError } from '../errors.js';
import type { BatchResult, RawMessage, Watermark } from './processor.js';

/**
 * Finds the messages whose rows ClickHouse refuses, so that one bad row costs one message and
 * never the partition.
 *
 * When an insert is refused for a data reason (RefusedError), the batch is written again in
 * order, in chunks: a chunk that lands moves the sink's watermarks past its messages; a refused
 * chunk is halved, and a refused single message is handed to `refused` (the rejected topic,
 * reason `sink_refused`). Before every chunk the partition's unacknowledged states are dropped
 * and the watermarks read from the sink, so each chunk is processed from what ClickHouse holds
 * ("states read fresh"): a message after a refused one of the same workflow is joined to the
 * last state that landed, and its retraction cancels a stored row exactly.
 *
 * Exactly once holds across a crash in the middle: every chunk that landed is below the
 * watermarks and is skipped by the replay, which isolates again from there. Rejections are at
 * least once, as every rejection is. Cost: about 2 log2(n) inserts per refused message in a
 * batch of n, plus one for each clean run between them.
 */
export interface IsolationDeps {
  /** Drops the partition's states that ClickHouse has not acknowledged. */
  forgetUnflushed(): void;
  /** ClickHouse acknowledged the partition's states (their change rows landed). */
  flushed(): void;
  /** The sink's watermarks for this partition, read afresh. */
  readWatermark(): Promise<Watermark>;
  /** processBatch for this partition from `watermark` (look-ups included). */
  process(messages: RawMessage[], watermark: Watermark): Promise<BatchResult>;
  /** Inserts, retrying transient failures; throws RefusedError when the data is refused. */
  insertChanges(rows: BatchResult['rows']): Promise<void>;
  insertEvents(rows: BatchResult['events']): Promise<void>;
  /** Publishes one message that ClickHouse refused (at least once). */
  refused(message: RawMessage, table: 'changes' | 'events', err: RefusedError): Promise<void>;
}

export interface IsolationOutcome {
  /** messages handed to `refused` */
  refused: number;
  /** chunks written (inserts attempted per table) */
  chunks: number;
  /** the sink's watermark after the last chunk */
  watermark: Watermark;
}

type WriteOutcome = { kind: 'landed' } | { kind: 'refused'; table: 'changes' | 'events'; err: RefusedError };

async function write(deps: IsolationDeps, result: BatchResult): Promise<WriteOutcome> {
  // Changes first, as on the normal path: a message refused there never reaches `events`.
  for (const table of ['changes', 'events'] as const) {
    try {
      if (table === 'changes') await deps.insertChanges(result.rows);
      else await deps.insertEvents(result.events);
    } catch (err) {
      if (err instanceof RefusedError) return { kind: 'refused', table, err };
      throw err;
    }
  }
  return { kind: 'landed' };
}

export async function isolate(deps: IsolationDeps, messages: RawMessage[]): Promise<IsolationOutcome> {
  const queue: RawMessage[][] = messages.length > 0 ? [messages] : [];
  let refused = 0;
  let chunks = 0;
  // States of the refused attempt that brought us here are not in ClickHouse.
  deps.forgetUnflushed();
  for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) {
    const result = await deps.process(chunk, await deps.readWatermark());
    chunks++;
    const outcome = await write(deps, result);
    // Change rows that landed make their states true; refused ones must be read afresh.
    if (outcome.kind === 'landed' || outcome.table === 'events') deps.flushed();
    else deps.forgetUnflushed();
    if (outcome.kind === 'landed') continue;
    const [only] = chunk;
    if (chunk.length === 1 && only !== undefined) {
      await deps.refused(only, outcome.table, outcome.err);
      refused++;
      continue;
    }
    const half = Math.ceil(chunk.length / 2);
    queue.unshift(chunk.slice(0, half), chunk.slice(half));
  }
  return { refused, chunks, watermark: await deps.readWatermark() };
}
