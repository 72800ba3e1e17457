import { clickhouseConnection, parseEnv } from '@parsl-usage/common';
import { LOCAL_DEV_USERS, UsageError } from '@parsl-usage/common/cli-frame';
import { aggregatorEnvSchema, type AggregatorEnv as AggregatorConfig } from '@parsl-usage/aggregator';

/**
 * The aggregator's variables (migrations need its topics, partitions and cluster shape) with
 * admin as the local default user: the aggregator's own default, ingest, may not run DDL.
 */
export const migrateEnvSchema = aggregatorEnvSchema.extend(clickhouseConnection(LOCAL_DEV_USERS.admin));

/** Every bad variable in one UsageError (exit 2). */
export function loadMigrateConfig(env: Record<string, string | undefined>): AggregatorConfig {
  return parseEnv('migrate', migrateEnvSchema, env, (m) => {
    const lines = m.split('\n').map((l) => l.trim());
    return new UsageError(lines.filter(Boolean).join('; '));
  });
}
