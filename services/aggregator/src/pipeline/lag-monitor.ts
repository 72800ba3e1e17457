import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';

/**
 * Consumer lag per partition, measured from outside the consumer: the partition's end offset
 * minus the group's committed offset, polled from the brokers. A lag read from the batches
 * themselves stops moving exactly when it matters (a consumer that is stuck or crashed reads
 * no batch), so the "no progress while there is lag" alert needs this one.
 */

/** end - committed per partition; a partition the group never committed lags by its whole length. */
export function partitionLag(
  ends: ReadonlyMap<number, { high: bigint; low: bigint }>,
  committed: ReadonlyMap<number, bigint>,
): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const [partition, { high, low }] of ends) {
    const c = committed.get(partition);
    const from = c === undefined || c < 0n ? low : c;
    const lag = high - from;
    out.set(partition, lag < 0n ? 0n : lag);
  }
  return out;
}

export interface LagSource {
  ends(): Promise<Map<number, { high: bigint; low: bigint }>>;
  committed(): Promise<Map<number, bigint>>;
}

/** Reads both sides from a kafkajs admin client. */
export function kafkaLagSource(admin: Admin, topic: string, groupId: string): LagSource {
  return {
    async ends() {
      const rows = await admin.fetchTopicOffsets(topic);
      return new Map(rows.map((r) => [r.partition, { high: BigInt(r.high), low: BigInt(r.low) }]));
    },
    async committed() {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    },
  };
}

export class LagMonitor {
  private timer: NodeJS.Timeout | undefined;
  private lastOkAt = 0;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      source: LagSource;
      metrics: Metrics;
      logger: Pick<Logger, 'warn'>;
      intervalMs: number;
      now?: () => number;
      connect?: () => Promise<void>;
      disconnect?: () => Promise<void>;
    },
  ) {}

  async start(): Promise<void> {
    await this.deps.connect?.();
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.deps.disconnect?.();
  }

  /** Healthy while the last successful poll is recent (three intervals). */
  isHealthy(): boolean {
    const now = this.deps.now ?? Date.now;
    return now() - this.lastOkAt < 3 * this.deps.intervalMs;
  }

  poll(): Promise<void> {
    this.polling ??= this.readOnce().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async readOnce(): Promise<void> {
    const { source, metrics, logger } = this.deps;
    try {
      const [ends, committed] = await Promise.all([source.ends(), source.committed()]);
      for (const [partition, lag] of partitionLag(ends, committed)) {
        metrics.set(
          'aggregator_partition_lag',
          'messages in the partition after the group committed offset (polled from the brokers)',
          Number(lag),
          { partition: String(partition) },
        );
      }
      this.lastOkAt = (this.deps.now ?? Date.now)();
    } catch (err) {
      metrics.inc('aggregator_lag_poll_errors_total', 'failed polls of the consumer lag', 1);
      logger.warn({ err }, 'could not read the consumer lag');
    }
  }
}
