import { createClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { provision } from './provision.js';

// Migrations need DDL rights: run as the admin user (CLICKHOUSE_USER/CLICKHOUSE_PASSWORD).
const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL, base: { service: 'migrate' } });
const clickhouse = createClient({
  url: config.CLICKHOUSE_URL,
  username: config.CLICKHOUSE_USER,
  password: config.CLICKHOUSE_PASSWORD,
});
const kafka = new Kafka({
  clientId: 'parsl-usage-migrate',
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.WARN,
});
try {
  await provision({ config, kafka, clickhouse, logger });
} catch (err) {
  logger.fatal({ err }, 'provisioning failed');
  process.exitCode = 1;
} finally {
  await clickhouse.close();
}
