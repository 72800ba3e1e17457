import { describe, expect, it } from 'vitest';
import {
  BACKUP_TABLES,
  cutPredicate,
  migrationMismatch,
  monthsOnlyInChangeLog,
  offsetsAfterRestore,
  parseManifest,
  partitionFileName,
  planBackup,
  type BackupFile,
  type Manifest,
} from './backup-manifest.js';

const file = (table: string, partition: string, over: Partial<BackupFile> = {}): BackupFile => ({
  table,
  partition,
  file: `${table}/${partition}-0123456789abcdef.native.gz`,
  bytes: 100,
  sha256: 'a'.repeat(64),
  rows: 10,
  fingerprint: '42',
  writtenAt: '2026-12-01T00:00:00.000Z',
  ...over,
});

const manifest = (files: BackupFile[]): Manifest => ({
  format: 'parsl-usage-backup',
  version: 1,
  createdAt: '2026-12-01T00:00:00.000Z',
  database: 'parsl_usage',
  serverVersion: '18.16.1',
  watermarks: { events: { '0': '41' }, workflow_changes: { '0': '40' } },
  migrations: [{ version: 1, name: 'base', checksum: 'x' }],
  columns: { events: [{ name: 'kafka_partition', type: 'UInt16' }] },
  files,
});

describe('planBackup', () => {
  const state = (table: string, partition: string, rows = 10, fingerprint = '42') => ({
    table,
    partition,
    rows,
    fingerprint,
  });
  it.each([
    ['first backup: everything is written', [state('events', '202611')], [], ['events/202611'], [], []],
    [
      'unchanged partition is kept',
      [state('events', '202611')],
      [file('events', '202611')],
      [],
      ['events/202611'],
      [],
    ],
    [
      'new rows (fingerprint and count) are written again, the old file is obsolete',
      [state('events', '202611', 11, '43')],
      [file('events', '202611')],
      ['events/202611'],
      [],
      ['events/202611'],
    ],
    [
      'a deleted row with the same count still changes the fingerprint',
      [state('workflow_changes', '202610', 10, '44')],
      [file('workflow_changes', '202610')],
      ['workflow_changes/202610'],
      [],
      ['workflow_changes/202610'],
    ],
    [
      'a month dropped by retention leaves the backup',
      [state('events', '202611')],
      [file('events', '202611'), file('events', '202401')],
      [],
      ['events/202611'],
      ['events/202401'],
    ],
  ] as const)('%s', (_name, current, previous, write, keep, obsolete) => {
    const plan = planBackup(current, previous, () => true);
    expect(plan.write.map((p) => `${p.table}/${p.partition}`)).toEqual(write);
    expect(plan.keep.map((p) => `${p.table}/${p.partition}`)).toEqual(keep);
    expect(plan.obsolete.map((p) => `${p.table}/${p.partition}`)).toEqual(obsolete);
  });

  it('a kept file that is missing or of another size is written again', () => {
    const plan = planBackup([state('events', '202611')], [file('events', '202611')], () => false);
    expect(plan.write).toHaveLength(1);
    expect(plan.keep).toHaveLength(0);
  });
});

describe('parseManifest', () => {
  it('reads back what is written', () => {
    const m = manifest([file('events', '202611')]);
    expect(parseManifest(JSON.stringify(m))).toEqual(m);
  });
  it.each([
    ['not JSON', '{', /not JSON/],
    ['another format', JSON.stringify({ ...manifest([]), format: 'other' }), /not a backup manifest: format/],
    [
      'a bad checksum',
      JSON.stringify(manifest([file('events', '202611', { sha256: 'zz' })])),
      /files\.0\.sha256/,
    ],
    [
      'a path that leaves the directory',
      JSON.stringify(manifest([file('events', '202611', { file: '../../etc/passwd' })])),
      /files\.0\.file/,
    ],
    [
      'a partition twice',
      JSON.stringify(manifest([file('events', '202611'), file('events', '202611')])),
      /events\/202611 twice/,
    ],
  ])('refuses %s', (_name, text, error) => {
    expect(() => parseManifest(text)).toThrow(error);
  });
});

describe('offsetsAfterRestore', () => {
  const marks = new Map([
    [0, { changes: 40n, events: 41n }],
    [1, { changes: 9n, events: 7n }],
  ]);
  it('resumes after what every table holds; a partition without rows from its start', () => {
    const plan = offsetsAfterRestore(marks, [
      { partition: 0, low: '0', high: '100' },
      { partition: 1, low: '0', high: '50' },
      { partition: 2, low: '0', high: '5' },
    ]);
    expect(plan.partitions).toEqual([
      { partition: 0, offset: '41' },
      { partition: 1, offset: '8' },
      { partition: 2, offset: '0' },
    ]);
    expect(plan.lost).toEqual([]);
    expect(plan.impossible).toEqual([]);
  });
  it('reports what Kafka no longer holds and resumes at its earliest offset', () => {
    const plan = offsetsAfterRestore(marks, [
      { partition: 0, low: '60', high: '100' },
      { partition: 1, low: '0', high: '50' },
    ]);
    expect(plan.partitions[0]).toEqual({ partition: 0, offset: '60' });
    expect(plan.lost).toEqual([{ partition: 0, from: '41', to: '59', messages: '19' }]);
  });
  it('refuses a topic behind the backup (not the topic it was taken from)', () => {
    const plan = offsetsAfterRestore(marks, [{ partition: 0, low: '0', high: '30' }]);
    expect(plan.impossible).toEqual([
      'partition 0: the backup holds offset 41 but the topic ends at 29',
      'partition 1 of the backup does not exist in the topic',
    ]);
  });
});

describe('migrationMismatch', () => {
  const code = [
    { version: 1, name: 'base', checksum: 'a' },
    { version: 2, name: 'rollups', checksum: 'b' },
  ];
  it('accepts a backup written under older or the same migrations', () => {
    expect(migrationMismatch([code[0] ?? code[1]!], code)).toBeUndefined();
    expect(migrationMismatch(code, code)).toBeUndefined();
  });
  it('refuses a backup of a newer release or an edited migration', () => {
    expect(migrationMismatch([...code, { version: 3, name: 'x', checksum: 'c' }], code)).toMatch(/3-x/);
    expect(migrationMismatch([{ version: 2, name: 'rollups', checksum: 'z' }], code)).toMatch(/differs/);
  });
});

describe('what is backed up', () => {
  it('the audit trail, the change log and the migration log; never a derived table', () => {
    expect(BACKUP_TABLES.map((t) => t.name)).toEqual(['schema_migrations', 'events', 'workflow_changes']);
  });
  it('cuts tables with Kafka coordinates at the watermark', () => {
    const events = BACKUP_TABLES.find((t) => t.name === 'events')!;
    const migrations = BACKUP_TABLES.find((t) => t.name === 'schema_migrations')!;
    expect(cutPredicate(events, [{ partition: 0, offset: '41' }])).toBe(
      'multiIf(kafka_partition = 0, kafka_offset <= 41, 0)',
    );
    expect(cutPredicate(events, [])).toBe('0');
    expect(cutPredicate(migrations, [])).toBe('1');
  });
  it('names a file by its content', () => {
    expect(partitionFileName('events', '202611', 'ab'.repeat(32))).toBe(
      'events/202611-abababababababab.native.gz',
    );
  });
});

describe('monthsOnlyInChangeLog', () => {
  it('is empty while events cover the change log', () => {
    expect(
      monthsOnlyInChangeLog(
        manifest([
          file('events', '202401'),
          file('workflow_changes', '202401'),
          file('schema_migrations', 'all'),
        ]),
      ),
    ).toEqual([]);
  });
  it('names the months whose events retention dropped', () => {
    const m = manifest([
      file('events', '202403'),
      file('workflow_changes', '202401'),
      file('workflow_changes', '202402'),
      file('workflow_changes', '202403'),
    ]);
    expect(monthsOnlyInChangeLog(m)).toEqual(['202401', '202402']);
  });
});
