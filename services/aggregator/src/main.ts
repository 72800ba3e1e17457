import { createClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import {
  STALE_SOCKET_KEEP_ALIVE,
  SUPERVISOR_RESTARTS_HELP,
  exitOnSignals,
  kafkaLogCreator,
  Metrics,
  supervisorRestarts,
} from '@parsl-usage/common';
import { decodeDatagram } from '@parsl-usage/schemas';
import { createApp, type AggregatorApp } from './app.js';
import { createClickHouseSink } from './sink/clickhouse-sink.js';
import { loadConfig } from './config.js';
import { LagMonitor, kafkaLagSource } from './pipeline/lag-monitor.js';
import { provision } from './provision/provision.js';

const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { service: 'aggregator' } });
const clickhouse = createClient({
  url: config.clickhouse.url,
  username: config.clickhouse.user,
  password: config.clickhouse.password,
  // Under load the event loop can run late, and a socket idle past the server's keep-alive
  // (3 s on 18.16) was reused and failed with EPIPE: common's reset rule (errors.ts).
  keep_alive: STALE_SOCKET_KEEP_ALIVE,
});
const kafka = new Kafka({
  clientId: config.kafka.clientId,
  brokers: config.kafka.brokers,
  logLevel: logLevel.WARN,
  logCreator: kafkaLogCreator(logger),
});
// The signal handlers go in before anything waits on a server: provisioning waits up to
// PROVISION_WAIT_MS for Kafka and ClickHouse, and a SIGTERM meanwhile (a supervisor stopping a
// service that never came up) must close the client and exit 0, not end the process unflushed
// by the signal's default action.
// `app` is created after provisioning: a signal before that has only the client to close.
let app: AggregatorApp | undefined = undefined;
let stopping = false;
const shutdown = async (): Promise<void> => {
  stopping = true;
  await app?.stop();
  await clickhouse.close();
};
exitOnSignals(logger, shutdown);

/**
 * A failed start (Kafka or ClickHouse unreachable past the wait, a migration refused, the HTTP
 * port taken) is one line, then a non-zero exit for the supervisor; as the relay does. A start
 * cut short by a signal's shutdown is not a failure: that shutdown exits 0.
 */
async function failedStart(err: unknown): Promise<void> {
  if (stopping) return;
  logger.fatal({ err }, 'aggregator failed to start');
  await shutdown().catch(() => undefined);
  process.exit(1);
}

if (config.migrateOnStart) {
  await provision({ config: config.provisioning, kafka, clickhouse, logger }).catch(failedStart);
}
const metrics = new Metrics({ processMetrics: true });
metrics.set('aggregator_supervisor_restarts', SUPERVISOR_RESTARTS_HELP, supervisorRestarts());
const admin = kafka.admin();
const lagMonitor = new LagMonitor({
  source: kafkaLagSource(admin, config.app.rawTopic, config.kafka.groupId),
  metrics,
  logger,
  intervalMs: 15_000, // ms: a quarter of the shortest alert window
  connect: () => admin.connect(),
  disconnect: () => admin.disconnect(),
});
app = createApp({
  config: config.app,
  logger,
  consumer: kafka.consumer({
    groupId: config.kafka.groupId,
    maxWaitTimeInMs: config.kafka.fetch.maxWaitMs,
    minBytes: config.kafka.fetch.minBytes,
    maxBytesPerPartition: config.kafka.fetch.maxBytesPerPartition,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    // kafkajs' rule of thumb: a third of the session timeout at most.
    heartbeatInterval: Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 3)),
  }),
  producer: kafka.producer({ allowAutoTopicCreation: false }),
  sink: createClickHouseSink(
    clickhouse,
    config.clickhouse.database,
    config.clickhouse.migrationsDir ? { migrationsDir: config.clickhouse.migrationsDir } : {},
  ),
  decode: decodeDatagram,
  metrics,
  lagMonitor,
  onFatal: (err) => {
    logger.fatal({ err }, 'consumer crashed for good; stopping so that the supervisor restarts the process');
    void shutdown().finally(() => process.exit(1));
  },
});

// After a signal during provisioning the shutdown is under way: nothing more to start.
if (!stopping) await app.start().catch(failedStart);
