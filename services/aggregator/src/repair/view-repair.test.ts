import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import type { WorkflowChangeRow } from '@parsl-usage/schemas';
import type { BatchContext } from '../ports.js';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import { Serial } from '../pipeline/serial.js';
import { insertChangesOnce } from '../sink/sink-retry.js';
import { TransientError } from '../errors.js';
import { repairOnce, ViewRepairer, type RepairOutcome, type ViewRepairPort } from './view-repair.js';
import type { DiffRow, OffsetRange } from './view-repair-sql.js';

const t = (name: string): RollupTarget => ({
  view: `${name}_mv`,
  target: name,
  select: 'SELECT 1 FROM db.workflow_changes',
  keys: ['k'],
  sums: ['n'],
  passthrough: [],
  types: new Map(),
});
const targets = [t('a'), t('b')];
const range: OffsetRange = { partition: 0, from: 1n, to: 2n };

/** A port whose readings follow a script: reading i of target x is readings[x][i] (the last repeats). */
function port(script: { readings: Record<string, DiffRow[][]>; versions?: number; backlog?: boolean[] }) {
  const reads: Record<string, number> = {};
  const inserted: { target: string; rows: DiffRow[] }[] = [];
  let backlogCalls = 0;
  const p: ViewRepairPort = {
    diff(target) {
      const list = script.readings[target.target] ?? [[]];
      const i = reads[target.target] ?? 0;
      reads[target.target] = i + 1;
      return Promise.resolve(list[Math.min(i, list.length - 1)] ?? []);
    },
    insertDiff(target, rows) {
      inserted.push({ target: target.target, rows });
      return Promise.resolve();
    },
    repairVersions: () => Promise.resolve(script.versions ?? 0),
    replicationBacklog: () => Promise.resolve(script.backlog?.[backlogCalls++] ?? false),
  };
  return { p, inserted };
}

const row = (k: string, n: string): DiffRow => ({ k, n });
const settle = () => Promise.resolve();

describe('repairOnce', () => {
  it.each<[string, Parameters<typeof port>[0], RepairOutcome, string[]]>([
    ['nothing missing', { readings: {} }, { kind: 'clean' }, []],
    [
      'only versions missing',
      { readings: {}, versions: 3 },
      { kind: 'repaired', versions: 3, targets: [] },
      [],
    ],
    [
      'a target lacks rows, the same in both readings',
      { readings: { b: [[row('x', '2')], [row('x', '2')]] } },
      { kind: 'repaired', versions: 0, targets: [{ target: 'b', keys: 1 }] },
      ['b'],
    ],
    [
      'the difference moved between readings (another insert in flight)',
      { readings: { a: [[row('x', '1')], []] } },
      { kind: 'unsettled', reason: 'the differences moved between two readings' },
      [],
    ],
    [
      'parts still to fetch from another replica',
      { readings: { a: [[row('x', '1')]] }, backlog: [true] },
      { kind: 'unsettled', reason: 'replication queue not empty' },
      [],
    ],
    [
      'parts to fetch appear between the readings',
      { readings: { a: [[row('x', '1')]] }, backlog: [false, true] },
      { kind: 'unsettled', reason: 'replication queue not empty' },
      [],
    ],
  ])('%s', async (_name, script, expected, insertedInto) => {
    const { p, inserted } = port(script);
    expect(await repairOnce(p, targets, range, settle)).toEqual(expected);
    expect(inserted.map((i) => i.target)).toEqual(insertedInto);
  });
});

const ctx: BatchContext = {
  partition: 0,
  heartbeat: () => Promise.resolve(),
  isActive: () => true,
  commit: () => Promise.resolve(),
};

function repairer(p: ViewRepairPort, clock: { t: number }, giveUpAfterMs = 10_000) {
  const metrics = new Metrics();
  const errors: unknown[] = [];
  const r = new ViewRepairer({
    views: () => Promise.resolve({ port: p, targets }),
    serial: new Serial(),
    metrics,
    logger: { warn: () => undefined, error: (o: unknown) => void errors.push(o) } as never,
    now: () => clock.t,
    sleep: (ms) => {
      clock.t += ms;
      return Promise.resolve();
    },
    settleMs: 1_000,
    giveUpAfterMs,
  });
  return { r, metrics, errors };
}

describe('ViewRepairer', () => {
  it('tries again until two readings agree, then repairs once', async () => {
    const { p, inserted } = port({
      readings: { a: [[row('x', '1')], [row('x', '9')], [row('x', '1')], [row('x', '1')]] },
    });
    const { r, metrics } = repairer(p, { t: 0 });
    expect((await r.repair(ctx, range)).kind).toBe('repaired');
    expect(inserted).toEqual([{ target: 'a', rows: [row('x', '1')] }]);
    expect(metrics.get('aggregator_view_checks_total', { outcome: 'unsettled' })).toBe(1);
    expect(metrics.get('aggregator_view_repaired_keys_total', { target: 'a' })).toBe(1);
  });
  it('gives up after the deadline, counted and logged, and repairs nothing', async () => {
    const { p, inserted } = port({
      readings: { a: [[row('x', '1')]] },
      backlog: Array<boolean>(1_000).fill(true),
    });
    const { r, metrics, errors } = repairer(p, { t: 0 }, 30_000);
    expect(await r.repair(ctx, range)).toEqual({ kind: 'unsettled', reason: 'replication queue not empty' });
    expect(inserted).toEqual([]);
    expect(metrics.get('aggregator_view_repair_unsettled_total')).toBe(1);
    expect(errors.length).toBe(1);
  });
});

describe('ViewRepairer.awaitReplication (before the watermarks are read)', () => {
  it.each([
    ['no replicated table behind', [], true],
    ['parts to fetch, then none', [true, true, false], true],
    [
      'never caught up: gives up, and the watermarks are read anyway',
      Array<boolean>(1_000).fill(true),
      false,
    ],
  ])('%s', async (_name, backlog, caughtUp) => {
    const { p } = port({ readings: {}, backlog });
    const { r } = repairer(p, { t: 0 }, 10_000);
    expect(await r.awaitReplication(ctx)).toBe(caughtUp);
  });
});

describe('insertChangesOnce after a failed attempt', () => {
  const rows = ['5:0', '5:1', '6:0', '7:0'].map((k) => {
    const [o, s] = k.split(':');
    return { kafka_offset: o, seq: Number(s) } as WorkflowChangeRow;
  });
  it.each([
    ['none stored: sent again, no repair', [], 2, [], 0],
    ['all stored: not sent again, views checked', ['5:0', '5:1', '6:0', '7:0'], 1, [], 1],
    [
      'some stored (a cut multi-month insert): the rest inserted, views checked',
      ['5:0', '6:0'],
      1,
      ['5:1', '7:0'],
      1,
    ],
  ])('%s', async (_name, stored, attempts, missingInserted, repairs) => {
    let tries = 0;
    const missing: string[] = [];
    const repaired: OffsetRange[] = [];
    await insertChangesOnce(
      {
        sink: {
          watermarks: () => Promise.resolve(new Map()),
          storedChanges: () => Promise.resolve(new Set(stored)),
          unconfirmedParts: () => Promise.resolve({ at: '', parts: 0 }),
        },
        metrics: new Metrics(),
        logger: { warn: () => undefined },
        now: Date.now,
        insertMissing: (rs) => {
          missing.push(...rs.map((r) => `${r.kafka_offset}:${r.seq}`));
          return Promise.resolve();
        },
        repair: (_c, r) => {
          repaired.push(r);
          return Promise.resolve();
        },
      },
      ctx,
      rows,
      () => (++tries === 1 ? Promise.reject(new TransientError('socket hang up')) : Promise.resolve()),
    );
    expect(tries).toBe(attempts);
    expect(missing).toEqual(missingInserted);
    expect(repaired).toEqual(Array<OffsetRange>(repairs).fill({ partition: 0, from: 5n, to: 7n }));
  });
});
