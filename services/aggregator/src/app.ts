import type { Consumer, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { OpsServer, type Metrics } from '@parsl-usage/common';
import type { DecodeOutcome, MessageMeta } from '@parsl-usage/schemas';
import { BatchHandler } from './pipeline/batch-handler.js';
import { BatchWriter } from './pipeline/batch-writer.js';
import { CoordinationHealth } from './sink/coordination-health.js';
import { JoinWindow } from './join/join-window.js';
import type { WorkflowSink } from './ports.js';
import { createRejectedPublisher } from './pipeline/rejected-publisher.js';
import { StoredIds } from './join/stored-ids.js';

/** What one aggregator is told (config.ts's `app`); tests pass it directly. */
export interface AppConfig {
  rawTopic: string;
  rejectedTopic: string;
  windowMs: number;
  maxOpenWorkflows: number;
  /** partitions whose batches are processed at the same time (default 1) */
  partitionsConcurrency?: number;
  /** See AGG_INSERT_GATHER_MS; 0 (the default here) sends each insert as soon as it can. */
  insertGatherMs?: number;
  /** workflow ids the stored-id filter is sized for (default 20,000,000: 24 MB) */
  idFilterCapacity?: number;
  httpHost: string;
  httpPort: number;
}

export interface AggregatorDeps {
  config: AppConfig;
  logger: Logger;
  consumer: Consumer;
  /** publishes undecodable messages to the rejected topic */
  producer: Producer;
  sink: WorkflowSink;
  decode: (bytes: Buffer, meta: MessageMeta) => DecodeOutcome;
  metrics: Metrics;
  now?: () => number;
  /** The consumer crashed for good: end the process (non-zero) for its supervisor to restart it. */
  onFatal?: (err: unknown) => void;
  /** Polls the consumer lag from the brokers (lag-monitor.ts); started after the consumer. */
  lagMonitor?: { start(): Promise<void>; stop(): Promise<void> };
}

export interface AggregatorApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  isHealthy(): boolean;
  readonly httpPort: number; // of /healthz and /metrics
}

const DRAIN_GRACE_MS = 10_000; // ms: queued writes may take this long to land at a shutdown

/** What one aggregator holds: the join window, the writes and the batch handler over them. */
interface Parts {
  window: JoinWindow;
  coordination: CoordinationHealth;
  handler: BatchHandler;
}

/** running: started and not stopping; crashed: the consumer gave up for good. */
interface RunState {
  running: boolean;
  crashed: boolean;
}

function wire(deps: AggregatorDeps, now: () => number): Parts {
  const { logger, consumer, producer, sink, metrics, config } = deps;
  const window = new JoinWindow({ maxEntries: config.maxOpenWorkflows, windowMs: config.windowMs });
  const coordination = new CoordinationHealth({ metrics, now });
  const retry = { sink, metrics, logger, now, coordination };
  const publishRejected = createRejectedPublisher({ producer, ...config, metrics });
  const writer = new BatchWriter({ ...retry, publishRejected, insertGatherMs: config.insertGatherMs ?? 0 });
  const storedIds = new StoredIds({ ...retry, capacity: config.idFilterCapacity ?? 20_000_000 });
  const seek = (partition: number, offset: string): void => {
    try {
      consumer.seek({ topic: config.rawTopic, partition, offset });
    } catch (err) {
      // Stopping, or the partition is no longer ours: whoever reads it next starts from its commit.
      logger.warn({ err, partition, offset }, 'could not seek back after a failed write');
    }
  };
  const handler = new BatchHandler({
    ...retry,
    consumer,
    seek,
    decode: deps.decode,
    window,
    storedIds,
    writer,
  });
  return { window, coordination, handler };
}

/** /health and /metrics. */
function opsServer(deps: AggregatorDeps, parts: Parts, state: RunState, isHealthy: () => boolean): OpsServer {
  const { config, metrics } = deps;
  const { window, coordination, handler } = parts;
  return new OpsServer({
    host: config.httpHost,
    port: config.httpPort,
    health: () => ({
      healthy: isHealthy(),
      running: state.running,
      crashed: state.crashed,
      openWorkflows: window.size,
      lastBatchAt: handler.lastBatchAt,
      // Still 200: the process works and a restart would not bring ZooKeeper back; inserts wait.
      degraded: coordination.current(),
    }),
    metrics: () => {
      coordination.export();
      metrics.set('aggregator_open_workflows', 'workflows held in the join window', window.size);
      metrics.set(
        'aggregator_queued_writes',
        'batches processed and waiting for or in their insert',
        handler.queuedWrites,
      );
      metrics.set(
        'aggregator_consumer_up',
        '1 while the consumer runs and has not crashed',
        isHealthy() ? 1 : 0,
      );
      return metrics.render();
    },
  });
}

function watchGroup(deps: AggregatorDeps, parts: Parts, state: RunState): void {
  const { consumer, logger } = deps;
  const { window, handler } = parts;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // Another instance may have changed the partitions we held, even those we hold again: between
    // two joins this instance sees, it may have left the group (a session timeout) and another
    // member consumed them. Nothing tells which, so everything cached is forgotten.
    window.clear();
    handler.reset();
    logger.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    // The consumer restarts and rejoins (or the process ends): every partition is read again
    // from its committed offset, and may be assigned elsewhere.
    window.clear();
    handler.reset();
    state.crashed = !e.payload.restart;
    logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    if (state.crashed) deps.onFatal?.(e.payload.error);
  });
}

function runConsumer(deps: AggregatorDeps, parts: Parts): Promise<void> {
  const { consumer, logger, config } = deps;
  const { window, handler } = parts;
  return consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.partitionsConcurrency ?? 1,
    eachBatch: async (payload) => {
      try {
        await handler.handle(payload);
      } catch (err) {
        // Unflushed state of this batch is gone with the throw; kafkajs reads this partition
        // again from its committed offset. Only its own entries can disagree with ClickHouse
        // (JoinWindow.clearPartition says why the others cannot).
        window.clearPartition(payload.batch.partition);
        handler.afterFailure(payload.batch.partition);
        logger.error(
          { err, partition: payload.batch.partition },
          'batch failed; consumer will restart from committed offsets',
        );
        throw err;
      }
    },
  });
}

async function stopApp(
  deps: AggregatorDeps,
  parts: Parts,
  health: OpsServer,
  state: RunState,
): Promise<void> {
  const { consumer, producer, logger, config } = deps;
  state.running = false;
  await deps.lagMonitor?.stop();
  // Batches already processed are written and committed first (up to DRAIN_GRACE_MS), so
  // the next owner does not read them again; a batch in hand is finished by kafkajs
  // before disconnect resolves.
  try {
    consumer.pause([{ topic: config.rawTopic }]);
  } catch {
    // not running yet: nothing was fetched
  }
  await parts.handler.drain(DRAIN_GRACE_MS);
  await consumer.disconnect();
  await producer.disconnect();
  await health.stop();
  logger.info('aggregator stopped');
}

/** Wires the consumer to the batch handler (batch-handler.ts), with health, metrics and the lifecycle. */
export function createApp(deps: AggregatorDeps): AggregatorApp {
  const { logger, consumer, producer, config } = deps;
  const parts = wire(deps, deps.now ?? Date.now);
  const state: RunState = { running: false, crashed: false };
  let stopping: Promise<void> | null = null;
  let httpPort = 0;
  const isHealthy = (): boolean => state.running && !state.crashed;
  const health = opsServer(deps, parts, state, isHealthy);

  return {
    get httpPort() {
      return httpPort;
    },
    async start() {
      ({ port: httpPort } = await health.start());
      await producer.connect();
      await consumer.connect();
      watchGroup(deps, parts, state);
      await consumer.subscribe({ topic: config.rawTopic, fromBeginning: true });
      await runConsumer(deps, parts);
      state.running = true;
      await deps.lagMonitor?.start();
      logger.info({ topic: config.rawTopic, httpPort }, 'aggregator started');
    },
    stop() {
      stopping ??= stopApp(deps, parts, health, state);
      return stopping;
    },
    isHealthy,
  };
}
