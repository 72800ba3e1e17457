import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { inject } from 'vitest';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { ensureTopics, pipelineTopics } from '@parsl-usage/aggregator/internal/provision/topics';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../infra/clickhouse/migrations', import.meta.url));
/** Where infra/scripts/setup-host.sh keeps its cached venvs (its PARSL_USAGE_CACHE default). */
export const SETUP_CACHE = process.env.PARSL_USAGE_CACHE ?? '/var/cache/parsl-usage';

/** Users as shipped in infra/clickhouse/users.d (local development passwords). */
export const CH_USERS = {
  admin: { username: 'admin', password: 'admin-dev-password' },
  ingest: { username: 'ingest', password: 'ingest-dev-password' },
  analyst: { username: 'analyst', password: 'analyst-dev-password' },
} as const;

export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

export function clickhouseUrl(): string {
  return inject('clickhouseUrl');
}

/** A name no other test (or earlier run against the same stack) uses. */
export function freshName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function clickhouse(user: keyof typeof CH_USERS = 'admin', database?: string): ClickHouseClient {
  return createClient({ url: clickhouseUrl(), ...CH_USERS[user], ...(database ? { database } : {}) });
}

/** A new database with every migration applied. */
export async function freshDatabase(prefix = 'test'): Promise<string> {
  const database = freshName(prefix);
  const client = clickhouse('admin');
  try {
    await applyMigrations(client, { database, dir: MIGRATIONS_DIR });
  } finally {
    await client.close();
  }
  return database;
}

export function kafka(clientId = 'test'): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
}

/** Fresh raw and rejected topics. */
export async function freshTopics(partitions = 3): Promise<{ raw: string; rejected: string }> {
  const names = { raw: freshName('raw'), rejected: freshName('rejected') };
  const admin: Admin = kafka().admin();
  await admin.connect();
  try {
    await ensureTopics(admin, pipelineTopics(names, partitions));
  } finally {
    await admin.disconnect();
  }
  return names;
}

/** Polls `probe` until it returns a value other than undefined, or fails at the deadline. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
