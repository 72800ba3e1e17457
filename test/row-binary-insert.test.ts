/**
 * The aggregator's RowBinary inserts (services/aggregator/src/sink/row-binary-writer.ts) store what
 * the JSONEachRow inserts they replaced stored: generated rows, hostile strings included, are
 * written both ways into the same migrated schema on the real 18.16 server and read back equal.
 * Their column list matches the migrations' types, column by column.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readRows } from '@parsl-usage/common';
import type { EventRow, WorkflowChangeRow } from '@parsl-usage/schemas';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { CHANGE_COLUMNS, EVENT_COLUMNS } from '@parsl-usage/aggregator/internal/sink/insert-columns';
import { encodeRows, type Column } from '@parsl-usage/aggregator/internal/sink/row-binary-writer';
import { clickhouse, freshDatabase } from './setup/env.js';

const typeName = (c: Column): string =>
  typeof c.type === 'string'
    ? c.type
    : `Enum8(${Object.entries(c.type.enum8)
        .map(([k, v]) => `'${k}' = ${v}`)
        .join(', ')})`;

// Up to 2105-12-31, the end of 18.16's date tables (later dates go as JSONEachRow: a test below).
const day = fc
  .integer({ min: 0, max: 49_672 })
  .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));
const dateTime = fc
  .integer({ min: 0, max: 4_291_747_199 })
  .map((s) => new Date(s * 1_000).toISOString().slice(0, 19).replace('T', ' '));
// Backslashes, quotes, tabs, newlines, NUL, multi-byte and astral characters: what text formats escape.
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('\\', "'", '"', '\t', '\n', '\0', 'é', '😀', 'a'), maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);
// The partition keys (day, received_at) stay within two months: a part per month and per view
// would make each insert take longer than the client's timeout on 18.16.
const recentDay = fc
  .integer({ min: 20_454, max: 20_513 })
  .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));
const recentDateTime = fc
  .integer({ min: 20_454 * 86_400, max: 20_513 * 86_400 })
  .map((s) => new Date(s * 1_000).toISOString().slice(0, 19).replace('T', ' '));
const offset = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String);

const changeRow: fc.Arbitrary<WorkflowChangeRow> = fc.record({
  workflow_id: text,
  sign: fc.constantFrom(1 as const, -1 as const),
  version: offset,
  status: fc.constantFrom('launched', 'running', 'completed', 'closure_only'),
  protocol: fc.constantFrom('v1', 'legacy'),
  tracking_level: fc.integer({ min: 0, max: 255 }),
  parsl_version: text,
  parsl_release_date: day,
  install_age_days: fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }),
  python_version: text,
  python_minor: text,
  platform: text,
  os_release: text,
  project_name: text,
  is_test: fc.integer({ min: 0, max: 255 }),
  executors: fc.array(text, { maxLength: 4 }),
  providers: fc.array(text, { maxLength: 4 }),
  launchers: fc.array(text, { maxLength: 4 }),
  other_components: fc.array(text, { maxLength: 4 }),
  executors_len: fc.integer({ min: 0, max: 65_535 }),
  dependency_resolver: fc.integer({ min: 0, max: 255 }),
  mpi: fc.integer({ min: 0, max: 255 }),
  app_count: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  app_fails: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  has_launch: fc.integer({ min: 0, max: 1 }),
  has_closure: fc.integer({ min: 0, max: 1 }),
  day: recentDay,
  launch_received_at: dateTime,
  closure_received_at: dateTime,
  start_time: dateTime,
  end_time: dateTime,
  // Seconds to the millisecond, as Parsl reports them. 18.16's text parser can miss the nearest
  // double by one ulp at extreme exponents (-9.847018164527457e-172 stored as ...456e-172);
  // RowBinary stores the decoder's double exactly.
  execution_time: fc.integer({ min: -1_000, max: 1_000_000_000_000 }).map((ms) => ms / 1_000),
  points: fc.integer({ min: 0, max: 255 }),
  kafka_partition: fc.integer({ min: 0, max: 65_535 }),
  kafka_offset: offset,
  seq: fc.integer({ min: 0, max: 65_535 }),
});

const eventRow: fc.Arbitrary<EventRow> = fc.record({
  kafka_partition: fc.integer({ min: 0, max: 65_535 }),
  kafka_offset: offset,
  kafka_index: fc.integer({ min: 0, max: 65_535 }),
  received_at: recentDateTime,
  workflow_id: text,
  phase: fc.constantFrom('launch', 'closure'),
  protocol: fc.constantFrom('v1', 'legacy'),
  tracking_level: fc.integer({ min: 0, max: 255 }),
  parsl_version: text,
  python_version: text,
  platform: text,
  project_name: text,
  raw: fc.oneof(text, fc.json()),
  inserted_at: dateTime,
});

describe('RowBinary inserts store what JSONEachRow stored', () => {
  const ch = clickhouse('admin');
  afterAll(() => ch.close());

  it.each([
    ['events', EVENT_COLUMNS],
    ['workflow_changes', CHANGE_COLUMNS],
  ])('the columns of %s match the migrations', async (table, columns) => {
    const db = await freshDatabase('rbcols');
    const stored = await readRows<{ name: string; type: string }>(ch, `DESCRIBE TABLE ${db}.${table}`);
    expect(columns.map((c) => ({ name: c.name, type: typeName(c) }))).toEqual(
      stored.map((c) => ({ name: c.name, type: c.type })),
    );
  });

  it('generated rows read back the same both ways', async () => {
    const db = await freshDatabase('rbrows');
    const sink = createClickHouseSink(ch, db);
    const changes = fc.sample(changeRow, { numRuns: 300, seed: 24 });
    const events = fc.sample(eventRow, { numRuns: 300, seed: 26 });
    // Copies without the views: the JSONEachRow side, as clickhouse-sink.ts sent it before.
    for (const t of ['workflow_changes', 'events'])
      await ch.command({ query: `CREATE TABLE ${db}.${t}_json AS ${db}.${t}` });
    // RowBinary, not the JSONEachRow fallback, is what these inserts exercise.
    expect(encodeRows(CHANGE_COLUMNS, changes, { inserted_at: '2026-01-01 00:00:00' })).not.toBeNull();
    expect(encodeRows(EVENT_COLUMNS, events)).not.toBeNull();
    // And rows it cannot send (a lone surrogate is refused either way) go as JSONEachRow, equal too.
    const late = fc
      .sample(changeRow, { numRuns: 5, seed: 7 })
      .map((r) => ({ ...r, parsl_release_date: '2149-06-06' }));
    changes.push(...late);
    await sink.insertChanges(changes.slice(0, -late.length));
    await sink.insertChanges(late);
    await sink.insertEvents(events);
    await ch.insert({ table: `${db}.workflow_changes_json`, values: changes, format: 'JSONEachRow' });
    await ch.insert({ table: `${db}.events_json`, values: events, format: 'JSONEachRow' });
    const read = (table: string, columns: readonly Column[]) => {
      const names = columns.filter((c) => c.name !== 'inserted_at').map((c) => c.name);
      return readRows(ch, `SELECT ${names.join(', ')} FROM ${db}.${table} ORDER BY ${names.join(', ')}`);
    };
    const [a, b] = [
      await read('workflow_changes', CHANGE_COLUMNS),
      await read('workflow_changes_json', CHANGE_COLUMNS),
    ];
    expect(a.length).toBe(changes.length);
    expect(a).toEqual(b);
    const [c, d] = [await read('events', EVENT_COLUMNS), await read('events_json', EVENT_COLUMNS)];
    expect(c.length).toBe(events.length);
    expect(c).toEqual(d);
  });
});
