import { describe, expect, it } from 'vitest';
import { columnTypes } from '@parsl-usage/schemas/migrations-model';
import { loadMigrationsModel } from '@parsl-usage/schemas/migrations-model-files';
import { DEFAULT_MIGRATIONS_DIR } from '../provision/migrate.js';
import { CHANGE_COLUMNS, EVENT_COLUMNS } from './insert-columns.js';
import { encodeRows, type Column, type ColumnType } from './row-binary-writer.js';

const { schema } = await loadMigrationsModel(DEFAULT_MIGRATIONS_DIR, 'db');

/** A column type as the migration spells it (`Enum8('a' = 1, 'b' = 2)`). */
function spelled(type: ColumnType): string {
  if (typeof type === 'string') return type;
  const members = Object.entries(type.enum8).map(([name, value]) => `'${name}' = ${value}`);
  return `Enum8(${members.join(', ')})`;
}

/** A value each column type encodes (what a decoded datagram holds). */
function sample(type: ColumnType): unknown {
  if (typeof type !== 'string') return Object.keys(type.enum8)[0];
  const values: Record<Exclude<ColumnType, object>, unknown> = {
    UInt8: 1,
    UInt16: 2,
    UInt64: '3',
    Int8: -1,
    Int32: -4,
    Float64: 1.5,
    Date: '2026-12-07',
    DateTime: '2026-12-07 20:00:00',
    String: 'text',
    'Array(String)': ['a', 'b'],
  };
  return values[type];
}

const sampleRow = (columns: readonly Column[]): Record<string, unknown> =>
  Object.fromEntries(columns.map((c) => [c.name, sample(c.type)]));

describe.each([
  ['events', EVENT_COLUMNS],
  ['workflow_changes', CHANGE_COLUMNS],
])('the insert columns of %s', (table, columns) => {
  const create = schema.tables.get(table);

  it('are the table of the migrations, column for column, in its order and types', () => {
    expect(create).toBeDefined();
    const migrated = [...columnTypes(create ?? '')];
    expect(columns.map((c) => [c.name, spelled(c.type)])).toEqual(migrated);
  });

  it('name each column once', () => {
    expect(new Set(columns.map((c) => c.name)).size).toBe(columns.length);
  });

  it('all have an encoder: a row of every column encodes as RowBinary', () => {
    const bytes = encodeRows(columns, [sampleRow(columns)]);
    expect(bytes).not.toBeNull();
    expect(bytes?.length ?? 0).toBeGreaterThanOrEqual(columns.length);
  });

  it('the fixed inserted_at is written for every row, whatever the rows hold', () => {
    const row = { ...sampleRow(columns), inserted_at: 'not a date' };
    expect(encodeRows(columns, [row])).toBeNull();
    expect(encodeRows(columns, [row, row], { inserted_at: '2026-12-07 21:00:00' })).not.toBeNull();
  });

  it.each(columns.filter((c) => typeof c.type !== 'string').map((c) => [c.name, c] as const))(
    'the enum %s refuses an unknown name (the rows go as JSONEachRow)',
    (_name, column) => {
      expect(encodeRows(columns, [{ ...sampleRow(columns), [column.name]: 'no-such-member' }])).toBeNull();
    },
  );
});
