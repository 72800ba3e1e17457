import { describe, expect, it } from 'vitest';
import { offsetsAfterRestore, type Manifest } from './backup-manifest.js';
import { backupMarks } from './restore-run.js';

const manifest = (watermarks: Manifest['watermarks']): Manifest => ({
  format: 'parsl-usage-backup',
  version: 1,
  createdAt: '2026-12-01T00:00:00.000Z',
  database: 'parsl_usage',
  serverVersion: '18.16.1',
  watermarks,
  migrations: [{ version: 1, name: 'base', checksum: 'x' }],
  columns: {},
  files: [],
});

const asObject = (m: ReturnType<typeof backupMarks>) =>
  Object.fromEntries([...m].map(([p, w]) => [p, [w.changes.toString(), w.events.toString()]]));

describe('backupMarks', () => {
  it.each([
    ['no watermarks', {}, {}],
    [
      'both tables, per partition',
      { events: { '0': '41', '1': '7' }, workflow_changes: { '0': '40', '1': '7' } },
      { 0: ['40', '41'], 1: ['7', '7'] },
    ],
    // A table that holds nothing of a partition is at -1: its next offset is 0.
    ['a partition in events only', { events: { '2': '5' }, workflow_changes: {} }, { 2: ['-1', '5'] }],
    ['a partition in the change log only', { workflow_changes: { '3': '9' } }, { 3: ['9', '-1'] }],
    // Other tables' watermarks are not the consumer group's business.
    [
      'other tables are ignored',
      { events: { '0': '1' }, workflow_versions: { '0': '99' } },
      { 0: ['-1', '1'] },
    ],
    [
      'int64 offsets beyond 2^53',
      { events: { '0': '9007199254740993' }, workflow_changes: { '0': '9007199254740992' } },
      { 0: ['9007199254740992', '9007199254740993'] },
    ],
  ])('%s', (_, watermarks, want) => {
    expect(asObject(backupMarks(manifest(watermarks)))).toEqual(want);
  });

  it('places the consumer group after the table that is behind', () => {
    const marks = backupMarks(manifest({ events: { '0': '41' }, workflow_changes: { '0': '40' } }));
    expect(offsetsAfterRestore(marks, [{ partition: 0, low: '0', high: '100' }]).partitions).toEqual([
      { partition: 0, offset: '41' },
    ]);
  });
});
