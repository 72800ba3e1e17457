import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '@parsl-usage/schemas';
import { applyEvent, changeRows, type WorkflowState } from './workflow-state.js';

const DAY1 = Date.UTC(2026, 9, 1, 12); // ms
const DAY2 = Date.UTC(2026, 9, 2, 8); // ms

function ev(over: Partial<UsageEvent>): UsageEvent {
  return {
    workflowId: 'wf-1',
    phase: 'launch',
    protocol: 'v1',
    trackingLevel: 3,
    parslVersion: '2025.03.17',
    pythonVersion: '3.12.2',
    pythonMinor: '3.12',
    platform: 'Linux',
    osRelease: null,
    projectName: null,
    isTest: null,
    components: [],
    executorsLen: null,
    dependencyResolver: null,
    mpi: null,
    appCount: null,
    appFails: null,
    startTime: null,
    endTime: null,
    executionTime: null,
    receivedAtMs: DAY1,
    kafkaPartition: 0,
    kafkaOffset: '10',
    ...over,
  };
}

const htex = { kind: 'executor' as const, cls: 'parsl.executors.HighThroughputExecutor', attrs: {} };
const local = { kind: 'provider' as const, cls: 'parsl.providers.LocalProvider', attrs: {} };

const launch3 = ev({ components: [htex, local], executorsLen: 1, startTime: 1_790_000_000 });
const closure3 = ev({
  phase: 'closure',
  kafkaOffset: '11',
  receivedAtMs: DAY2,
  endTime: 1_790_000_100,
  executionTime: 100,
  appCount: 5,
  appFails: 1,
  components: [htex],
});

function fold(events: UsageEvent[]): WorkflowState | null {
  let s: WorkflowState | null = null;
  for (const e of events) {
    const r = applyEvent(s, e);
    if (r.changed) s = r.next;
  }
  return s;
}

describe('applyEvent', () => {
  it.each([
    ['level-1 launch', [ev({ trackingLevel: 1 })], 'launched', 1],
    ['level-2 launch', [ev({ trackingLevel: 2 })], 'launched', 1],
    ['level-3 launch awaits its closure', [launch3], 'running', 2],
    [
      'legacy launch (no level) awaits its closure',
      [ev({ protocol: 'legacy', trackingLevel: null })],
      'running',
      1,
    ],
    ['launch then closure', [launch3, closure3], 'completed', 2],
    ['closure then launch is the same run', [closure3, launch3], 'completed', 2],
    ['closure alone', [closure3], 'closure_only', 1],
    ['duplicate launch and closure', [launch3, launch3, closure3, closure3], 'completed', 2],
  ])('%s', (_name, events, status, points) => {
    const s = fold(events);
    expect(s?.status).toBe(status);
    expect(s?.points).toBe(points);
  });

  it('is order-independent for launch and closure facts', () => {
    const a = fold([launch3, closure3]);
    const b = fold([closure3, { ...launch3, kafkaOffset: '11' }]);
    const strip = (s: WorkflowState | null) =>
      s && { ...s, version: '', kafka_offset: '', closure_received_at: '', launch_received_at: '' };
    expect(strip(b)).toEqual(strip(a));
    expect(a).toMatchObject({
      app_count: 5,
      app_fails: 1,
      execution_time: 100,
      executors_len: 1,
      day: '2026-10-01',
    });
    expect(a?.executors).toEqual(['parsl.executors.HighThroughputExecutor']);
    expect(a?.providers).toEqual(['parsl.providers.LocalProvider']);
  });

  it.each([
    ['a repeated launch', launch3],
    ['a repeated closure', closure3],
  ])('ignores %s', (_n, e) => {
    const first = fold([launch3, closure3]);
    expect(applyEvent(first, e)).toEqual({ changed: false });
  });

  it('moves a closure-only run to its launch day when the launch arrives', () => {
    const c = fold([closure3]);
    expect(c?.day).toBe('2026-10-02');
    expect(fold([closure3, launch3])?.day).toBe('2026-10-01');
  });

  it.each([
    ['2024.10.14', DAY1, 717],
    ['1.3.0-dev', DAY1, -1],
  ])('derives install age from parsl version %s', (v, at, age) => {
    const s = fold([ev({ parslVersion: v, receivedAtMs: at })]);
    expect(s?.install_age_days).toBe(age);
  });

  it.each([
    ['negative', -5],
    ['beyond UInt32', 5_000_000_000],
  ])('ignores a %s client clock', (_n, start) => {
    expect(fold([ev({ startTime: start })])?.start_time).toBe('1970-01-01 00:00:00');
  });
});

describe('changeRows', () => {
  it('retracts the previous version exactly and adds the new one', () => {
    const prev = fold([launch3]);
    const next = fold([launch3, closure3]);
    if (!prev || !next) throw new Error('fold failed');
    const rows = changeRows(prev, next, { kafkaPartition: 0, kafkaOffset: '11' });
    expect(rows.map((r) => [r.sign, r.status, r.seq])).toEqual([
      [-1, 'running', 0],
      [1, 'completed', 1],
    ]);
    const { sign: _s, seq: _q, kafka_offset: _o, kafka_partition: _p, ...retracted } = rows[0]!;
    const { kafka_offset: _o2, kafka_partition: _p2, ...prevFacts } = prev;
    expect(retracted).toEqual(prevFacts);
  });

  it('adds only the new version for a first sighting', () => {
    const next = fold([launch3]);
    if (!next) throw new Error('fold failed');
    expect(changeRows(null, next, { kafkaPartition: 2, kafkaOffset: '7' })).toHaveLength(1);
  });
});

describe('conflicting datagrams under one id (the same row in either order)', () => {
  // Parsl 0.4/0.5: an explicit dfk.cleanup() and the unguarded atexit handler each send a closure.
  const legacyLaunch = ev({ protocol: 'legacy', trackingLevel: null, startTime: 1_600_000_000 });
  const explicitCleanup = ev({
    protocol: 'legacy',
    trackingLevel: null,
    phase: 'closure',
    receivedAtMs: DAY1 + 60_000,
    endTime: 1_600_000_100,
    appCount: 7,
    appFails: 0,
    executorsLen: 1,
  });
  const atexitCleanup = {
    ...explicitCleanup,
    receivedAtMs: DAY1 + 61_000,
    endTime: 1_600_000_101,
    appFails: 1,
  };

  it.each([
    ['explicit cleanup first', [legacyLaunch, explicitCleanup, atexitCleanup]],
    ['atexit closure first', [legacyLaunch, atexitCleanup, explicitCleanup]],
    ['closures before the launch', [atexitCleanup, explicitCleanup, legacyLaunch]],
  ])(
    'a second closure: the later end and the larger counts win, the first receipt stays (%s)',
    (_n, events) => {
      expect(fold(events)).toMatchObject({
        status: 'completed',
        end_time: '2020-09-13 12:28:21',
        app_count: 7,
        app_fails: 1,
        closure_received_at: '2026-10-01 12:01:00',
        day: '2026-10-01',
      });
    },
  );

  const other = ev({ parslVersion: '2024.06.03', startTime: 1_790_000_050, receivedAtMs: DAY2 });
  it.each([
    ['original first', [launch3, other]],
    ['conflicting first', [other, launch3]],
  ])(
    'two launches: the later start supplies every launch fact; the day is the first receipt (%s)',
    (_n, events) => {
      expect(fold(events)).toMatchObject({
        parsl_version: '2024.06.03',
        start_time: '2026-09-21 14:14:10',
        launch_received_at: '2026-10-01 12:00:00',
        day: '2026-10-01',
      });
    },
  );

  it('a copy received earlier moves the receipt and the day back, with the retraction of the old row', () => {
    const late = fold([{ ...launch3, receivedAtMs: DAY2 }]);
    const r = applyEvent(late, launch3);
    if (!r.changed || late === null) throw new Error('an earlier copy is a change');
    expect(r.next).toMatchObject({ day: '2026-10-01', launch_received_at: '2026-10-01 12:00:00' });
    expect(changeRows(late, r.next, { kafkaPartition: 0, kafkaOffset: '12' })[0]).toMatchObject({
      sign: -1,
      day: '2026-10-02',
    });
    // ...and the later copy changes nothing once the earlier one is in.
    expect(applyEvent(r.next, { ...launch3, receivedAtMs: DAY2 })).toEqual({ changed: false });
  });

  it.each([
    ['launch first', [ev({ projectName: 'beta' }), ev({ phase: 'closure', projectName: 'alpha' })]],
    ['closure first', [ev({ phase: 'closure', projectName: 'alpha' }), ev({ projectName: 'beta' })]],
  ])('two project names: the same one in either order (%s)', (_n, events) => {
    expect(fold(events)?.project_name).toBe('beta');
  });

  it('a version out of offset order (a replay in another order) still rises', () => {
    const a = fold([{ ...closure3, kafkaOffset: '20' }]);
    const r = applyEvent(a, { ...launch3, kafkaOffset: '5' });
    expect(r.changed && r.next.version).toBe('21');
  });
});
