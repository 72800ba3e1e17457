import { describe, expect, it } from 'vitest';
import { StateStore } from './state-store.js';
import type { WorkflowState } from './workflow-state.js';

const base: WorkflowState = {
  workflow_id: '4b1c0c52-6a3e-4f0e-9f63-0d5f1d1b2a77',
  version: '123456',
  status: 'completed',
  protocol: 'v1',
  tracking_level: 3,
  parsl_version: '2025.03.17',
  parsl_release_date: '2025-03-17',
  install_age_days: 619,
  python_version: '3.12.2',
  python_minor: '3.12',
  platform: 'Linux',
  os_release: '',
  project_name: 'my-project',
  is_test: 0,
  executors: ['parsl.executors.high_throughput.executor.HighThroughputExecutor'],
  providers: ['parsl.providers.LocalProvider'],
  launchers: [],
  other_components: ['parsl.config.Config', 'parsl.dataflow.dflow.DataFlowKernel'],
  executors_len: 1,
  dependency_resolver: 0,
  mpi: 0,
  app_count: 3,
  app_fails: 1,
  has_launch: 1,
  has_closure: 1,
  day: '2026-11-26',
  launch_received_at: '2026-11-26 10:00:00',
  closure_received_at: '2026-11-26 10:00:07',
  start_time: '2026-11-26 09:59:59',
  end_time: '2026-11-26 10:00:06',
  execution_time: 6.25,
  points: 2,
  kafka_partition: 5,
  kafka_offset: '123456',
};

describe('StateStore', () => {
  it.each<[string, Partial<WorkflowState>]>([
    ['a completed level-3 run', {}],
    [
      'the epoch placeholders of an unknown time',
      { start_time: '1970-01-01 00:00:00', parsl_release_date: '1970-01-01' },
    ],
    [
      'a closure-only run with nothing of a launch',
      { status: 'closure_only', has_launch: 0, launch_received_at: '1970-01-01 00:00:00' },
    ],
    [
      'a Kafka offset past 2^53 (kept as text)',
      { kafka_offset: '18446744073709551615', version: '9007199254740993' },
    ],
    ['a non-canonical decimal (kept as text)', { version: '007' }],
    ['an impossible date (kept as text)', { day: '2026-02-30', end_time: '2026-13-01 00:00:00' }],
    ['a date before the epoch (kept as text)', { parsl_release_date: '1969-12-31' }],
    ['a leap day, and one that is not', { day: '2024-02-29', parsl_release_date: '2023-02-29' }],
    [
      'the last second of a day, and an hour that does not exist',
      { start_time: '2026-12-31 23:59:59', end_time: '2026-11-26 24:00:00' },
    ],
    [
      'date-time text with odd separators (kept as text)',
      { launch_received_at: '2026-11-26T10:00:00', closure_received_at: ' 2026-11-26 10:00:0' },
    ],
    [
      'free text with quotes, NUL and non-ASCII',
      { project_name: "o'brien\u0000 lab ü 🚀", os_release: '\\' },
    ],
    ['empty component lists', { executors: [], providers: [], other_components: [] }],
    ['a list that is a prefix of another', { executors: ['a'], providers: ['a', 'b'] }],
    ['UInt64-sized app counts within a double', { app_count: 2 ** 53 - 1, app_fails: 0 }],
    ['negative installation age and fractional execution time', { install_age_days: -1, execution_time: -1 }],
    [
      'column maxima',
      { tracking_level: 255, executors_len: 65_535, kafka_partition: 65_535, install_age_days: 2 ** 31 - 1 },
    ],
  ])('gives back exactly what was stored: %s', (_name, over) => {
    const s = { ...base, ...over };
    const store = new StateStore(16);
    const slot = store.add(s);
    expect(store.read(slot, s.workflow_id)).toStrictEqual(s);
  });

  it.each<[string, Partial<WorkflowState>]>([
    ['a UInt8 field above 255', { tracking_level: 256 }],
    ['a UInt16 field below 0', { executors_len: -1 }],
    ['a fraction in an integer column', { points: 1.5 }],
  ])('refuses to narrow a value silently: %s', (_name, over) => {
    expect(() => new StateStore(16).add({ ...base, ...over })).toThrow(RangeError);
  });

  it('keeps every slot intact across growth, replacement and reuse, and frees what it pooled', () => {
    const store = new StateStore(16);
    const live = new Map<number, WorkflowState>();
    let rnd = 42;
    const next = () => (rnd = (rnd * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5_000; i++) {
      const s: WorkflowState = {
        ...base,
        workflow_id: `wf-${i}`,
        version: String(i),
        project_name: `p${Math.floor(next() * 50)}`,
        launch_received_at: `2026-11-${String(1 + Math.floor(next() * 28)).padStart(2, '0')} 10:00:00`,
        executors: next() < 0.5 ? [] : [`e${Math.floor(next() * 5)}`],
      };
      const r = next();
      const slots = [...live.keys()];
      if (r < 0.6 || slots.length === 0) live.set(store.add(s), s);
      else if (r < 0.8) {
        const slot = slots[Math.floor(next() * slots.length)] as number;
        store.replace(slot, s);
        live.set(slot, s);
      } else {
        const slot = slots[Math.floor(next() * slots.length)] as number;
        store.remove(slot);
        live.delete(slot);
      }
    }
    for (const [slot, s] of live) expect(store.read(slot, s.workflow_id)).toStrictEqual(s);
    for (const slot of live.keys()) store.remove(slot);
    expect(store.pooled).toBe(0);
  });

  it('a slot reused after clear starts clean', () => {
    const store = new StateStore(16);
    const slot = store.add(base);
    store.setDirty(slot, true);
    store.touch(slot, 99);
    store.clear();
    const again = store.add(base);
    expect([again, store.isDirty(again), store.touchedAt(again), store.pooled]).toEqual([slot, false, 0, 11]);
  });
});
