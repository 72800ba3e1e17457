import { afterAll, describe, expect, it } from 'vitest';
import { clickhouse, eventually, freshDatabase, freshTopics, kafka } from './setup/env.js';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { MIGRATIONS_DIR } from './setup/env.js';

describe('test harness: real Kafka and ClickHouse', () => {
  const admin = clickhouse('admin');
  afterAll(() => admin.close());

  it('round-trips a message through the Kafka broker', async () => {
    const { raw } = await freshTopics(3);
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: raw, acks: -1, messages: [{ key: 'k', value: 'hello' }] });
    await producer.disconnect();
    const consumer = kafka().consumer({ groupId: `${raw}-g` });
    await consumer.connect();
    await consumer.subscribe({ topic: raw, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push(String(message.value));
        return Promise.resolve();
      },
    });
    await eventually(() => (seen.length > 0 ? seen : undefined), { what: 'the message' });
    await consumer.disconnect();
    expect(seen).toEqual(['hello']);
  });

  it('applies migrations once; a second run changes nothing', async () => {
    const db = await freshDatabase('harness');
    const again = await applyMigrations(admin, { database: db, dir: MIGRATIONS_DIR });
    expect(again.applied).toEqual([]);
    expect(again.skipped.length).toBeGreaterThan(0);
    const tables = await (
      await admin.query({
        query: `SELECT name FROM system.tables WHERE database = '${db}'`,
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['workflow_changes', 'workflows']));
  });
});
