import type { Logger } from 'pino';
import type { Batch } from './batcher.js';
import type { RelayMetrics } from './metrics.js';
import type { Publisher } from './publisher.js';
import { countPublished, type Spool, type SpoolReplayer } from './spool.js';

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
export function createDelivery(deps: DeliveryDeps): (batch: Batch) => Promise<void> {
  const { publisher, spool, replayer, metrics, logger } = deps;
  let lastFullLogMs = -Infinity;
  let droppedSinceLog = 0;

  async function toSpool(batch: Batch): Promise<void> {
    const n = batch.records.length;
    try {
      const out = await spool.append(batch.records);
      if (out.kind === 'ok') {
        metrics.spooled.inc({}, n);
        replayer.kick();
        return;
      }
      metrics.dropped.inc({ reason: 'spool_full' }, n);
      droppedSinceLog += n;
      const now = deps.now();
      // Loud but bounded: one error line per interval, with the count it stands for.
      if (now - lastFullLogMs >= LOUD_LOG_INTERVAL_MS) {
        logger.error(
          { dropped: droppedSinceLog, spoolBytes: spool.bytes },
          'SPOOL FULL: Kafka is unavailable and datagrams are being DROPPED',
        );
        lastFullLogMs = now;
        droppedSinceLog = 0;
      }
    } catch (err) {
      metrics.dropped.inc({ reason: 'spool_error' }, n);
      logger.error({ err, messages: n }, 'spool write failed; datagrams dropped');
    }
  }

  return async (batch: Batch): Promise<void> => {
    if (spool.isEmpty()) {
      try {
        await publisher.publish(batch.records);
        countPublished(metrics, batch.records);
        metrics.batchLatency.observe((deps.now() - batch.openedAtMs) / 1000);
        return;
      } catch (err) {
        const retriable = (err as { retriable?: unknown }).retriable === true;
        metrics.publishErrors.inc({ retriable: String(retriable) });
        if (!retriable) {
          metrics.dropped.inc({ reason: 'publish_rejected' }, batch.records.length);
          logger.error({ err, messages: batch.records.length }, 'Kafka refused a batch for good; dropped');
          return;
        }
        logger.warn({ err: (err as Error).message }, 'Kafka unavailable; spooling');
      }
    }
    await toSpool(batch);
  };
}
