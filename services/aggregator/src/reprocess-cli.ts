import { createClient } from '@clickhouse/client';
import { pino } from 'pino';
import { z } from 'zod';
import { decodeDatagram } from '@parsl-usage/schemas';
import { createClickHouseSink } from './clickhouse-sink.js';
import { ConfigError } from './errors.js';
import { clickHouseEventSource, derivedTables, reprocessFromEvents } from './reprocess.js';

/**
 * Rebuilds workflow_changes, workflow_versions and every rollup from `events` after a change to
 * decoding or normalisation. Stop the aggregator first (it would insert into tables being
 * rebuilt); start it again afterwards: it resumes from the offsets the rebuilt tables hold.
 *
 *   CLICKHOUSE_USER=admin CLICKHOUSE_PASSWORD=... node services/aggregator/dist/reprocess-cli.js --yes
 */
const env = z
  .object({
    CLICKHOUSE_URL: z.string().url().default('http://127.0.0.1:8123'),
    CLICKHOUSE_USER: z.string().min(1).default('admin'),
    CLICKHOUSE_PASSWORD: z.string().default('admin-dev-password'),
    CLICKHOUSE_DATABASE: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an SQL identifier')
      .default('parsl_usage'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')));
if (!env.success) {
  throw new ConfigError(
    `invalid reprocess configuration:\n${env.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
  );
}
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--yes');
if (unknown.length > 0 || !args.includes('--yes')) {
  console.error(
    `usage: reprocess-cli --yes   (empties the derived tables of ${env.data.CLICKHOUSE_DATABASE} and rebuilds them from events)` +
      (unknown.length ? `\nunknown arguments: ${unknown.join(' ')}` : ''),
  );
  process.exit(2);
}

const { CLICKHOUSE_DATABASE: db } = env.data;
const logger = pino({ level: env.data.LOG_LEVEL, base: { service: 'reprocess' } });
const client = createClient({
  url: env.data.CLICKHOUSE_URL,
  username: env.data.CLICKHOUSE_USER,
  password: env.data.CLICKHOUSE_PASSWORD,
});
try {
  const tables = await (
    await client.query({
      query: `SELECT name, engine FROM system.tables WHERE database = '${db}'`,
      format: 'JSONEachRow',
    })
  ).json<{ name: string; engine: string }>();
  const derived = derivedTables(tables);
  for (const t of derived) await client.command({ query: `TRUNCATE TABLE ${db}.${t}` });
  logger.info({ truncated: derived }, 'derived tables emptied');
  const r = await reprocessFromEvents({
    source: clickHouseEventSource(client, db),
    sink: createClickHouseSink(client, db),
    decode: decodeDatagram,
    onProgress: (p) => logger.debug(p, 'page applied'),
  });
  logger.info(r, 'reprocessed');
} catch (err) {
  logger.fatal({ err }, 'reprocess failed; run it again (events are untouched)');
  process.exitCode = 1;
} finally {
  await client.close();
}
