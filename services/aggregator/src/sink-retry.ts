import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { TransientError, withRetry } from './errors.js';
import type { BatchContext, WorkflowSink } from './ports.js';

export interface SinkRetryDeps {
  sink: Pick<WorkflowSink, 'watermarks'>;
  metrics: Metrics;
  logger: Pick<Logger, 'warn'>;
  now: () => number;
}

/**
 * Retries a sink operation for as long as the failure is transient: a ClickHouse outage
 * pauses this partition (heartbeating, so the group keeps it here) instead of crash-looping.
 */
export function untilDone<T>(
  deps: Pick<SinkRetryDeps, 'metrics' | 'logger'>,
  ctx: BatchContext,
  what: string,
  op: () => Promise<T>,
): Promise<T> {
  return withRetry(op, {
    attempts: Number.POSITIVE_INFINITY,
    baseDelayMs: 200, // ms
    maxDelayMs: 30_000, // ms
    onRetry: (err, attempt) => {
      deps.metrics.inc('aggregator_sink_retries_total', 'retried ClickHouse operations', 1, { op: what });
      deps.logger.warn(
        { err, attempt, partition: ctx.partition, op: what },
        'ClickHouse unavailable; retrying',
      );
    },
    sleep: async (ms) => {
      await new Promise((r) => setTimeout(r, ms));
      // Retriable, so that kafkajs restarts the consumer instead of leaving it crashed.
      if (!ctx.isActive()) throw new TransientError('consumer stopping; abandoning batch');
      await ctx.heartbeat();
    },
  });
}

/** Inserts once: after a failed attempt, the sink is asked whether the rows landed before trying again. */
export async function insertOnce(
  deps: SinkRetryDeps,
  ctx: BatchContext,
  what: 'changes' | 'events',
  rows: { kafka_offset: string }[],
  insert: () => Promise<void>,
): Promise<void> {
  if (rows.length === 0) return;
  const last = BigInt(rows[rows.length - 1]?.kafka_offset ?? '-1');
  let attempted = false;
  const t0 = deps.now();
  await untilDone(deps, ctx, `insert ${what}`, async () => {
    if (attempted) {
      const held = (await deps.sink.watermarks()).get(ctx.partition);
      if (held && held[what] >= last) return;
    }
    attempted = true;
    await insert();
  });
  deps.metrics.observe('aggregator_insert_seconds', 'ClickHouse insert latency', (deps.now() - t0) / 1000, {
    table: what,
  });
}
