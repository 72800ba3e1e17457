// Where a sealed batch goes: published to Kafka, or spooled behind what the spool holds.
import type { Logger } from 'pino';
import type { Batch } from './batcher.js';
import type { RelayMetrics } from './metrics.js';
import type { Publisher } from './publisher.js';
import { countPublished } from './published-counts.js';
import type { Spool } from './spool.js';
import type { SpoolReplayer } from './spool-replayer.js';

export interface DeliveryDeps {
  publisher: Publisher;
  spool: Spool;
  replayer: SpoolReplayer;
  metrics: RelayMetrics;
  logger: Logger;
  now: () => number;
}

const LOUD_LOG_INTERVAL_MS = 10_000;

/**
 * Publishes a batch, or spools it. While the spool holds anything, new batches join its tail
 * instead of overtaking it, so Kafka receives datagrams in arrival order across an outage.
 */
export interface Delivery {
  /** Publishes the batch, or spools it. Never rejects: every outcome is counted. */
  deliver(batch: Batch): Promise<void>;
  /**
   * Writes the batch straight to the spool: the memory backlog is full because Kafka is slow
   * or gone. Batches delivered after this call queue behind it on disk, never overtake it.
   */
  spill(batch: Batch): Promise<void>;
}

/** What delivery remembers between batches. */
interface DeliveryState {
  lastFullLogMs: number;
  droppedSinceLog: number;
  /** Spills whose append has not finished yet: the spool may still look empty meanwhile. */
  spilling: number;
}

/** Ends a batch's time in `delivering`; called once it is counted as published, spooled or dropped. */
type Settle = () => void;

export function createDelivery(deps: DeliveryDeps): Delivery {
  const state: DeliveryState = { lastFullLogMs: -Infinity, droppedSinceLog: 0, spilling: 0 };
  return {
    deliver: (batch) => counted(deps, batch, (b, settle) => publishOrSpool(deps, state, b, settle)),
    spill: (batch) => {
      state.spilling++;
      deps.metrics.spilled.inc({}, batch.records.length);
      return counted(deps, batch, (b, settle) => toSpool(deps, state, b, settle)).finally(() => {
        state.spilling--;
      });
    },
  };
}

// Each outcome moves the batch's count out of `delivering` in the same synchronous step as
// it adds it to published, spool or dropped: the accounting identity holds at every moment.
async function toSpool(
  deps: DeliveryDeps,
  state: DeliveryState,
  batch: Batch,
  settle: Settle,
  doubtSinceMs?: number,
): Promise<void> {
  const { spool, metrics, logger } = deps;
  const n = batch.records.length;
  try {
    const out = await spool.append(batch.records, doubtSinceMs);
    if (out.kind === 'ok') {
      metrics.spooled.inc({}, n);
      metrics.spoolMessages.inc(n);
      settle();
      deps.replayer.kick();
      return;
    }
    metrics.dropped.inc({ reason: 'spool_full' }, n);
    settle();
    logSpoolFull(deps, state, n);
  } catch (err) {
    metrics.dropped.inc({ reason: 'spool_error' }, n);
    settle();
    logger.error({ err, messages: n }, 'spool write failed; datagrams dropped');
  }
}

/** Loud but bounded: one error line per interval, with the count it stands for. */
function logSpoolFull(deps: DeliveryDeps, state: DeliveryState, dropped: number): void {
  state.droppedSinceLog += dropped;
  const now = deps.now();
  if (now - state.lastFullLogMs >= LOUD_LOG_INTERVAL_MS) {
    deps.logger.error(
      { dropped: state.droppedSinceLog, spoolBytes: deps.spool.bytes },
      'SPOOL FULL: Kafka is unavailable and datagrams are being DROPPED',
    );
    state.lastFullLogMs = now;
    state.droppedSinceLog = 0;
  }
}

async function publishOrSpool(
  deps: DeliveryDeps,
  state: DeliveryState,
  batch: Batch,
  settle: Settle,
): Promise<void> {
  const { publisher, spool, metrics, logger } = deps;
  const n = batch.records.length;
  let doubtSinceMs: number | undefined;
  if (spool.isEmpty() && state.spilling === 0) {
    const t0 = deps.now();
    try {
      await publisher.publish(batch.records);
      const t1 = deps.now();
      countPublished(metrics, batch.records);
      settle();
      metrics.publishLatency.observe((t1 - t0) / 1000);
      metrics.batchLatency.observe((t1 - batch.openedAtMs) / 1000);
      return;
    } catch (err) {
      const retriable = (err as { retriable?: unknown }).retriable === true;
      metrics.publishErrors.inc({ retriable: String(retriable) });
      if (!retriable) {
        metrics.dropped.inc({ reason: 'publish_rejected' }, n);
        settle();
        logger.error({ err, messages: n }, 'Kafka refused a batch for good; dropped');
        return;
      }
      logger.warn({ err: (err as Error).message }, 'Kafka unavailable; spooling');
      // A publish that failed may still have appended part of the batch.
      doubtSinceMs = t0;
    }
  }
  await toSpool(deps, state, batch, settle, doubtSinceMs);
}

/** Never rejects: whatever happens to the batch is counted here, exactly once. */
async function counted(
  deps: DeliveryDeps,
  batch: Batch,
  how: (batch: Batch, settle: Settle) => Promise<void>,
): Promise<void> {
  const { metrics, logger } = deps;
  const n = batch.records.length;
  // Synchronous with the batcher handing the batch over, so it is never counted twice or not at all.
  metrics.delivering.inc(n);
  metrics.batchSize.observe(n);
  let settled = false;
  const settle = (): void => {
    settled = true;
    metrics.delivering.dec(n);
  };
  try {
    await how(batch, settle);
  } catch (err) {
    // Not expected (every path above catches); if the batch was not yet counted anywhere,
    // it is lost: say so in the counters rather than leak it from the identity.
    if (!settled) {
      metrics.dropped.inc({ reason: 'internal' }, n);
      settle();
    }
    logger.error({ err, messages: n }, 'delivery failed unexpectedly; batch dropped');
  }
}
