// The relay's wiring: intake, batcher, delivery, spool and metrics behind start() and stop().
import { readFileSync } from 'node:fs';
import type { RemoteInfo } from 'node:dgram';
import type { Logger } from 'pino';
import type { Accounting } from './accounting.js';
import { Batcher } from './batcher.js';
import type { RelayConfig } from './config.js';
import { createDelivery, type Delivery } from './delivery.js';
import { OpsServer } from '@parsl-usage/common';
import { envelopeWriter } from '@parsl-usage/schemas';
import { classify, type IntakeDeps } from './intake.js';
import { parseSnmpUdp } from './kernel-udp.js';
import { createMetrics, type RelayMetrics } from './metrics.js';
import type { Publisher } from './publisher.js';
import { RateLimiter } from './rate-limit.js';
import { createSeqSource, type Sniff } from './records.js';
import { Spool } from './spool.js';
import { SpoolReplayer } from './spool-replayer.js';
import { UdpServer } from './udp-server.js';

export interface AppDeps {
  config: RelayConfig;
  logger: Logger;
  publisher: Publisher;
  sniff: Sniff;
  now?: () => number;
  /** The datagram source; UDP by default. Tests feed datagrams through a stand-in. */
  intakeSource?: (onDatagram: DatagramHandler) => IntakeSource;
  /** /proc/net/snmp's text, read at scrape time; undefined where there is none. */
  readSnmp?: () => string | undefined;
  /** prom-client's process metrics (CPU, memory, GC, event loop) on /metrics too (main.ts). */
  processMetrics?: boolean;
}

export type DatagramHandler = (bytes: Buffer, rinfo: Pick<RemoteInfo, 'address'>) => void;

export interface IntakeSource {
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  isHealthy(): boolean;
}

function readProcSnmp(): string | undefined {
  try {
    return readFileSync('/proc/net/snmp', 'utf8');
  } catch {
    return undefined;
  }
}

export type HealthReport = {
  healthy: boolean;
  checks: Record<string, boolean | number | string>;
};

export interface RelayApp {
  start(): Promise<{ udpPort: number; httpPort: number }>;
  /** Idempotent: close intake, flush, leave the rest in the spool, disconnect. */
  stop(): Promise<void>;
  isHealthy(): boolean;
  health(): HealthReport;
  /** Where every datagram is now; see accounting.ts for the identity it satisfies. */
  accounting(): Accounting;
  readonly metrics: RelayMetrics;
}

/**
 * Datagrams that may wait in memory for a slow Kafka (about 50 MB at Parsl's sizes); past it
 * the backlog is spilled to the spool rather than dropped. A broker killed mid-request holds a
 * publish for up to requestTimeout × retries, so at 5,000 datagrams/s this is ~20 s of cover.
 */
const PENDING_MESSAGES_BOUND = 100_000;

/** What start() opens, and delivery needs; undefined before it. */
interface Opened {
  spool?: Spool;
  replayer?: SpoolReplayer;
  delivery?: Delivery;
}

/** The parts of a relay that start() and stop() work on. */
interface Parts {
  deps: AppDeps;
  now: () => number;
  metrics: RelayMetrics;
  batcher: Batcher;
  opened: Opened;
  udp: IntakeSource;
  http: OpsServer;
}

export function createApp(deps: AppDeps): RelayApp {
  const { config, logger, publisher } = deps;
  const now = deps.now ?? Date.now;
  const metrics = createMetrics({ processMetrics: deps.processMetrics ?? false });
  const opened: Opened = {};
  const batcher = createBatcher(config, logger, now, opened);
  const onDatagram = datagramHandler(intakeDeps(deps), metrics, batcher, now);
  const udp: IntakeSource =
    deps.intakeSource?.(onDatagram) ??
    new UdpServer({
      host: config.udp.host,
      port: config.udp.port,
      rcvbufBytes: config.udp.rcvbufBytes,
      logger,
      onDatagram,
    });
  const accounting = (): Accounting => accountingOf(metrics, batcher);
  addGauges(metrics, deps.readSnmp ?? readProcSnmp, accounting);

  function health(): HealthReport {
    const checks = {
      udpBound: udp.isHealthy(),
      kafkaConnected: publisher.isConnected(),
      spoolWritable: opened.spool?.isWritable() ?? false,
      spoolBytes: opened.spool?.bytes ?? 0,
    };
    return { healthy: checks.udpBound && (checks.kafkaConnected || checks.spoolWritable), checks };
  }

  const http = new OpsServer({
    host: config.http.host,
    port: config.http.port,
    health,
    metrics: () => metrics.render(),
  });
  const parts: Parts = { deps, now, metrics, batcher, opened, udp, http };
  let stopping: Promise<void> | undefined;

  return {
    metrics,
    health,
    accounting,
    isHealthy: () => health().healthy,
    start: () => startApp(parts),
    stop() {
      stopping ??= stopApp(parts);
      return stopping;
    },
  };
}

function createBatcher(config: RelayConfig, logger: Logger, now: () => number, opened: Opened): Batcher {
  return new Batcher({
    maxMessages: config.batch.maxMessages,
    maxMs: config.batch.maxMs,
    maxPendingMessages: Math.max(PENDING_MESSAGES_BOUND, config.batch.maxMessages),
    deliver: (batch) => {
      if (opened.delivery === undefined) throw new Error('relay not started');
      return opened.delivery.deliver(batch);
    },
    onOverflow: (batch) => {
      if (opened.delivery === undefined) throw new Error('relay not started');
      logger.warn({ messages: batch.records.length }, 'delivery backlog full; spilling it to the spool');
      void opened.delivery.spill(batch);
    },
    onDeliverError: (batch, err) => {
      // Unreachable: delivery never rejects, and counts an unexpected failure itself.
      logger.error({ err, messages: batch.records.length }, 'delivery rejected; this is a bug');
    },
    now,
  });
}

function intakeDeps({ config, sniff }: AppDeps): IntakeDeps {
  return {
    sniff,
    limiter: new RateLimiter(config.rateLimit),
    maxDatagramBytes: config.udp.maxDatagramBytes,
    ctx: {
      relayId: config.instanceId,
      envelope: envelopeWriter(config.instanceId),
      nextSeq: createSeqSource(),
      rawTopic: config.topics.raw,
      rejectedTopic: config.topics.rejected,
      rejectedMaxBytes: config.rejectedMaxBytes,
    },
  };
}

/**
 * One synchronous step per datagram: counted, classified, buffered. The sender's address goes
 * to the rate limiter and nowhere else (not into records, the spool or a log line).
 */
function datagramHandler(
  intake: IntakeDeps,
  metrics: RelayMetrics,
  batcher: Batcher,
  now: () => number,
): DatagramHandler {
  return (bytes, rinfo) => {
    metrics.received.inc();
    const out = classify(intake, bytes, rinfo, now());
    switch (out.kind) {
      case 'rate_limited':
        metrics.rateLimited.inc();
        return;
      case 'rejected':
        metrics.rejected.inc({ reason: out.reason });
        break;
      case 'accepted':
        metrics.accepted.inc();
        break;
    }
    batcher.add(out.record);
  };
}

function accountingOf(metrics: RelayMetrics, batcher: Batcher): Accounting {
  return {
    received: metrics.received.total(),
    accepted: metrics.accepted.total(),
    rejected: metrics.rejected.total(),
    rateLimited: metrics.rateLimited.total(),
    recovered: metrics.spoolRecovered.total(),
    published: metrics.published.total(),
    dropped: metrics.dropped.total(),
    inFlight: batcher.bufferedMessages + metrics.delivering.get(),
    spoolMessages: metrics.spoolMessages.get(),
  };
}

/** The gauges read at scrape time: memory in flight, and the kernel's UDP drops. */
function addGauges(
  metrics: RelayMetrics,
  readSnmp: () => string | undefined,
  accounting: () => Accounting,
): void {
  const kernelUdp = () => {
    const text = readSnmp();
    return text === undefined ? undefined : parseSnmpUdp(text);
  };
  metrics.addGauge(
    'relay_in_flight_messages',
    'Datagrams in memory: buffered for a batch or being published or spooled',
    () => accounting().inFlight,
  );
  metrics.addGauge(
    'relay_kernel_udp_rcvbuf_errors_total',
    'Kernel UDP RcvbufErrors (/proc/net/snmp, whole network namespace): dropped on a full receive buffer',
    () => kernelUdp()?.rcvbufErrors,
    'counter',
  );
  metrics.addGauge(
    'relay_kernel_udp_in_errors_total',
    'Kernel UDP InErrors (/proc/net/snmp, whole network namespace)',
    () => kernelUdp()?.inErrors,
    'counter',
  );
}

async function startApp(p: Parts): Promise<{ udpPort: number; httpPort: number }> {
  const { config, logger, publisher } = p.deps;
  const { metrics, batcher, now } = p;
  const s = await Spool.open({ ...config.spool, logger });
  p.opened.spool = s;
  const replayer = new SpoolReplayer({
    spool: s,
    publisher,
    metrics,
    logger,
    chunkMaxMessages: config.batch.maxMessages,
    settleMs: config.readbackSettleMs,
    now,
  });
  p.opened.replayer = replayer;
  p.opened.delivery = createDelivery({ publisher, spool: s, replayer, metrics, logger, now });
  metrics.addGauge('relay_spool_bytes', 'Bytes held in the on-disk spool', () => s.bytes);
  metrics.addGauge('relay_pending_batches', 'Batches waiting for delivery', () => batcher.pendingBatches);
  try {
    await publisher.connect();
  } catch (err) {
    // Not fatal: the relay's job during a Kafka outage is to spool.
    logger.warn({ err: (err as Error).message }, 'Kafka unavailable at start; datagrams will be spooled');
  }
  if (!s.isEmpty()) replayer.kick();
  const { port: httpPort } = await p.http.start();
  // Intake opens last, once there is somewhere for datagrams to go.
  const { port: udpPort } = await p.udp.start();
  logger.info({ udpPort, httpPort }, 'relay started');
  return { udpPort, httpPort };
}

/** Close intake, flush, leave the rest in the spool, disconnect. */
async function stopApp(p: Parts): Promise<void> {
  const { logger, publisher } = p.deps;
  await p.udp.stop();
  await p.batcher.flush();
  await p.opened.replayer?.stop();
  await publisher.disconnect().catch((err: unknown) => logger.warn({ err }, 'Kafka disconnect failed'));
  await p.opened.spool?.close();
  await p.http.stop();
  logger.info({ spoolBytes: p.opened.spool?.bytes ?? 0 }, 'relay stopped');
}
