// The relay process: reads the config and starts one app, or a cluster primary and its workers.
import cluster from 'node:cluster';
import { SUPERVISOR_RESTARTS_HELP, exitOnSignals, supervisorRestarts } from '@parsl-usage/common';
import { sniff } from '@parsl-usage/schemas';
import { pino } from 'pino';
import { createApp } from './app.js';
import { runPrimary, workerConfig } from './cluster.js';
import { loadConfig } from './config.js';
import { KafkaPublisher } from './publisher.js';

const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { service: 'relay', relayId: config.instanceId } });

if (config.workers > 1 && cluster.isPrimary) {
  runPrimary(config, logger);
} else {
  const wc = workerConfig(config);
  const publisher = new KafkaPublisher({
    brokers: wc.kafka.brokers,
    clientId: wc.kafka.clientId,
    logger,
    pack: wc.pack,
  });
  const app = createApp({ config: wc, logger, publisher, sniff, processMetrics: true });
  const restarts = supervisorRestarts();
  app.metrics.addGauge('relay_supervisor_restarts', SUPERVISOR_RESTARTS_HELP, () => restarts);

  exitOnSignals(logger, () => app.stop(), { ignoreSecond: cluster.isWorker });

  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, 'relay failed to start');
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}
