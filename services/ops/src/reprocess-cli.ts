/**
 * Rebuilds workflow_changes, workflow_versions and every rollup from `events` after a change to
 * decoding or normalisation. Stop the aggregator first (it would insert into tables being
 * rebuilt); start it again afterwards: it resumes from the offsets the rebuilt tables hold.
 *
 *   node services/ops/dist/reprocess-cli.js --yes
 */
import { pino } from 'pino';
import { z } from 'zod';
import { decodeDatagram } from '@parsl-usage/schemas';
import {
  LOCAL_DEV_USERS,
  checkArgs,
  clickhouseClient,
  clickhouseEnv,
  runCli,
} from '@parsl-usage/common/cli-frame';
import { createClickHouseSink } from '@parsl-usage/aggregator';
import { clickHouseEventSource, derivedTables, reprocessFromEvents } from './reprocess.js';

const HELP = `usage: reprocess-cli --yes

Empties the derived tables (workflow_changes, workflow_versions, every rollup) and rebuilds them
from the events audit table. Stop the aggregator first. --yes confirms.

Environment: CLICKHOUSE_URL (http://127.0.0.1:8123), CLICKHOUSE_USER (admin),
CLICKHOUSE_PASSWORD (local dev default admin-dev-password), CLICKHOUSE_DATABASE (parsl_usage),
LOG_LEVEL (debug: progress per page and stack traces on errors).
Exit codes: 0 done, 1 failed (run it again: events are untouched), 2 bad arguments.`;

const argsSchema = z.object({
  yes: z.literal(true, {
    errorMap: () => ({
      message: '--yes is required: it empties the derived tables and rebuilds them from events',
    }),
  }),
});

await runCli({
  name: 'reprocess',
  help: HELP,
  options: { yes: { type: 'boolean' } },
  run: async (values, processEnv) => {
    checkArgs(argsSchema, values);
    const env = clickhouseEnv(processEnv, LOCAL_DEV_USERS.admin);
    const db = env.CLICKHOUSE_DATABASE;
    const logger = pino({ level: env.LOG_LEVEL, base: { service: 'reprocess' } });
    const client = clickhouseClient(env);
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
    } finally {
      await client.close();
    }
  },
});
