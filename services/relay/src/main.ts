import cluster from 'node:cluster';
import { SUPERVISOR_RESTARTS_HELP, supervisorRestarts } from '@parsl-usage/common';
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
  const publisher = new KafkaPublisher({ brokers: wc.kafka.brokers, clientId: wc.kafka.clientId, logger });
  const app = createApp({ config: wc, logger, publisher, sniff });
  const restarts = supervisorRestarts();
  app.metrics.addGauge('relay_supervisor_restarts', SUPERVISOR_RESTARTS_HELP, () => restarts);

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A worker hears the terminal's or service manager's signal and the one its primary
    // passes on; only the primary turns a second signal into a forced exit.
    if (signalled && cluster.isWorker) return;
    if (signalled) {
      logger.warn({ signal }, 'second signal; exiting without finishing shutdown');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, 'relay failed to start');
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}
