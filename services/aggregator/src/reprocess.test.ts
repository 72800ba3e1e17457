import { describe, expect, it } from 'vitest';
import { derivedTables } from './reprocess.js';

describe('derivedTables', () => {
  it.each([
    [[{ name: 'events', engine: 'ReplacingMergeTree' }], []],
    [[{ name: 'schema_migrations', engine: 'ReplacingMergeTree' }], []],
    [[{ name: 'workflows', engine: 'View' }], []],
    [[{ name: 'workflow_versions_mv', engine: 'MaterializedView' }], []],
    [
      [
        { name: 'workflow_versions', engine: 'ReplacingMergeTree' },
        { name: 'rollup_daily', engine: 'SummingMergeTree' },
        { name: 'workflow_changes', engine: 'MergeTree' },
      ],
      ['rollup_daily', 'workflow_changes', 'workflow_versions'],
    ],
  ])('%j -> %j', (tables, expected) => {
    expect(derivedTables(tables)).toEqual(expected);
  });
});
