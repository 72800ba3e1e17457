import { describe, expect, it } from 'vitest';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import {
  diffQuery,
  insertDiffStatement,
  insertMissingVersionsStatement,
  rangeRows,
  type OffsetRange,
} from './view-repair-sql.js';

const target: RollupTarget = {
  view: 'r_mv',
  target: 'r',
  select:
    'SELECT\n    project_name,\n    day,\n    toInt64(sign) AS n\nFROM db.workflow_changes\nWHERE x = 1',
  keys: ['project_name', 'day'],
  sums: ['n'],
  passthrough: ['project_name', 'day'],
  types: new Map([
    ['project_name', 'String'],
    ['day', 'Date'],
    ['n', 'Int64'],
  ]),
};
const range: OffsetRange = { partition: 3, from: 10n, to: 12n };

describe('view repair SQL', () => {
  it('reads the range of one partition', () => {
    expect(rangeRows('db', range)).toBe(
      '(SELECT * FROM db.workflow_changes WHERE kafka_partition = 3 AND kafka_offset >= 10 AND kafka_offset <= 12)',
    );
  });
  it.each([
    ['a negative partition', { partition: -1, from: 0n, to: 0n }],
    ['a partition beyond UInt16', { partition: 70_000, from: 0n, to: 0n }],
    ['an empty range', { partition: 0, from: 5n, to: 4n }],
    ['a negative offset', { partition: 0, from: -1n, to: 4n }],
  ])('refuses %s', (_name, r) => {
    expect(() => rangeRows('db', r)).toThrow();
  });
  it('diffs the view over the pre-filtered source against the target, on the keys the range touches', () => {
    const q = diffQuery('db', target, range);
    expect(q).toContain(
      'FROM (SELECT * FROM db.workflow_changes WHERE (project_name, day) IN (SELECT project_name, day FROM (SELECT * FROM db.workflow_changes WHERE kafka_partition = 3',
    );
    expect(q).toContain('-toInt64(n) AS d_n FROM db.r WHERE (project_name, day) IN');
    expect(q).toContain('HAVING sum(d_n) != 0');
    // the view's own WHERE is kept, applied to the rewritten source
    expect(q.split('WHERE x = 1').length - 1).toBe(3);
    expect(q).not.toContain('FROM db.workflow_changes\nWHERE');
  });
  it('writes literals by type, quoting text', () => {
    expect(insertDiffStatement('db', target, [{ project_name: "o'b\\", day: '2026-11-01', n: '-2' }])).toBe(
      "INSERT INTO db.r (project_name, day, n) VALUES ('o\\'b\\\\', '2026-11-01', -2)",
    );
  });
  it.each([
    [{ project_name: 'p', day: '2026-11-01', n: '1; DROP TABLE x' }, /not a number/],
    [{ project_name: 'p', day: '2026-11-01' }, /no n/],
  ])('refuses the diff row %j', (row, err) => {
    expect(() => insertDiffStatement('db', target, [row])).toThrow(err);
  });
  it('copies only versions newer than the stored ones', () => {
    const s = insertMissingVersionsStatement(
      'db',
      'SELECT a, b FROM db.workflow_changes WHERE sign = 1',
      ['a', 'b'],
      range,
    );
    expect(s).toMatch(
      /^INSERT INTO db\.workflow_versions \(a, b\) SELECT a, b FROM \(SELECT a, b FROM \(SELECT \* FROM db\.workflow_changes WHERE kafka_partition = 3/,
    );
    expect(s).toContain('WHERE held = 0 OR stored < v');
  });
});
