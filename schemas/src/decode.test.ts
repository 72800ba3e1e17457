import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDatagram } from './decode.js';
import { rejectReasons, usageEventSchema } from './event.js';
import type { Component, MessageMeta, RejectReason, UsageEvent } from './event.js';

const META: MessageMeta = {
  receivedAtMs: 1_742_256_000_123,
  kafkaPartition: 3,
  kafkaOffset: '9007199254740993',
};

const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

/** The event with every fact unknown; each case overrides what its message says. */
const event = (overrides: Partial<UsageEvent>): UsageEvent => ({
  workflowId: 'id',
  phase: 'launch',
  protocol: 'v1',
  trackingLevel: null,
  parslVersion: null,
  pythonVersion: null,
  pythonMinor: null,
  platform: null,
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
  receivedAtMs: META.receivedAtMs,
  kafkaPartition: META.kafkaPartition,
  kafkaOffset: META.kafkaOffset,
  ...overrides,
});

const HTEX = 'parsl.executors.high_throughput.executor.HighThroughputExecutor';
const configComponents: Component[] = [
  { kind: 'other', cls: 'parsl.config.Config', attrs: { executors_len: 2, dependency_resolver: false } },
  { kind: 'executor', cls: HTEX, attrs: { mpi: false } },
  { kind: 'provider', cls: 'parsl.providers.local.local.LocalProvider', attrs: {} },
  { kind: 'launcher', cls: 'parsl.launchers.launchers.SingleNodeLauncher', attrs: {} },
  { kind: 'executor', cls: 'parsl.executors.threads.ThreadPoolExecutor', attrs: {} },
];
// 2024.06.03 still had channels between provider and launcher
const configComponents2024: Component[] = [
  ...configComponents.slice(0, 3),
  { kind: 'other', cls: 'parsl.channels.local.local.LocalChannel', attrs: {} },
  ...configComponents.slice(3),
];
const dfkComponent: Component = {
  kind: 'other',
  cls: 'parsl.dataflow.dflow.DataFlowKernel',
  attrs: { app_count: 3, app_fails: 1 },
};
const configFacts = { executorsLen: 2, dependencyResolver: false, mpi: false };
const v1Launch2025 = {
  protocol: 'v1',
  phase: 'launch',
  parslVersion: '2025.03.17',
  pythonVersion: '3.11.7',
  pythonMinor: '3.11',
  platform: 'Linux',
} as const;

describe('decodeDatagram on real and source-derived fixtures', () => {
  it.each<[string, UsageEvent]>([
    [
      'parsl-2025.03.17/level1-launch.bin',
      event({ ...v1Launch2025, workflowId: '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a01', trackingLevel: 1 }),
    ],
    [
      'parsl-2025.03.17/level2-launch.bin',
      event({
        ...v1Launch2025,
        workflowId: '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a02',
        trackingLevel: 2,
        components: configComponents,
        ...configFacts,
      }),
    ],
    [
      'parsl-2025.03.17/level3-launch.bin',
      event({
        ...v1Launch2025,
        workflowId: '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a03',
        trackingLevel: 3,
        projectName: 'fixture-project',
        components: configComponents,
        ...configFacts,
        startTime: 1742256000,
      }),
    ],
    [
      'parsl-2025.03.17/level3-closure.bin',
      event({
        protocol: 'v1',
        phase: 'closure',
        workflowId: '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a03',
        projectName: 'fixture-project',
        components: [dfkComponent, ...configComponents],
        ...configFacts,
        appCount: 3,
        appFails: 1,
        endTime: 1742256042,
        executionTime: 42,
      }),
    ],
    [
      'parsl-2024.06.03/launch.bin',
      event({
        protocol: 'v1',
        phase: 'launch',
        workflowId: '8d0e2b7a-4a61-4f0c-b2b4-6a0c9e2f0a00',
        parslVersion: '2024.06.03',
        pythonVersion: '3.11.7',
        pythonMinor: '3.11',
        platform: 'Linux',
        components: configComponents2024,
        ...configFacts,
        startTime: 1742256000,
      }),
    ],
    [
      'parsl-2024.06.03/closure.bin',
      event({
        protocol: 'v1',
        phase: 'closure',
        workflowId: '8d0e2b7a-4a61-4f0c-b2b4-6a0c9e2f0a00',
        components: [dfkComponent, ...configComponents2024],
        ...configFacts,
        appCount: 3,
        appFails: 1,
        endTime: 1742256042,
      }),
    ],
    [
      'legacy/2018-launch.bin',
      event({
        protocol: 'legacy',
        phase: 'launch',
        workflowId: '0b5f0c4e-6a3e-4f3b-9d0e-3c1f6b2a2018',
        isTest: false,
        startTime: 1531234567,
      }),
    ],
    [
      'legacy/2018-closure.bin',
      event({
        protocol: 'legacy',
        phase: 'closure',
        workflowId: '0b5f0c4e-6a3e-4f3b-9d0e-3c1f6b2a2018',
        isTest: false,
        executorsLen: 1,
        appCount: 10,
        appFails: 0,
        endTime: 1531234600,
      }),
    ],
    [
      'legacy/2023.04.17-launch.bin',
      event({
        protocol: 'legacy',
        phase: 'launch',
        workflowId: 'a6f1e0d2-93b4-4c1e-8f57-2b0c1d9e2304',
        isTest: false,
        parslVersion: '2023.04.17',
        pythonVersion: '3.10.12',
        pythonMinor: '3.10',
        platform: 'Linux',
        osRelease: '5.15.0-1034-aws',
        startTime: 1681776000,
      }),
    ],
    [
      'legacy/2023.04.17-closure.bin',
      event({
        protocol: 'legacy',
        phase: 'closure',
        workflowId: 'a6f1e0d2-93b4-4c1e-8f57-2b0c1d9e2304',
        isTest: false,
        executorsLen: 2,
        appCount: 25,
        appFails: 3,
        endTime: 1681776123,
      }),
    ],
    [
      'legacy/2024.03.18-launch.bin',
      event({
        protocol: 'legacy',
        phase: 'launch',
        workflowId: 'c3d2a1b0-5e6f-4a7b-8c9d-0e1f2a3b2403',
        parslVersion: '2024.03.18',
        pythonVersion: '3.12.2',
        pythonMinor: '3.12',
        platform: 'Darwin',
        osRelease: '23.3.0',
        startTime: 1710806400,
      }),
    ],
    [
      'legacy/2024.03.18-closure.bin',
      event({
        protocol: 'legacy',
        phase: 'closure',
        workflowId: 'c3d2a1b0-5e6f-4a7b-8c9d-0e1f2a3b2403',
        executorsLen: 1,
        appCount: 7,
        appFails: 0,
        endTime: 1710806460,
      }),
    ],
  ])('%s', (path, expected) => {
    const out = decodeDatagram(fixture(path), META);
    expect(out).toEqual({ kind: 'ok', event: expected });
    if (out.kind === 'ok') expect(usageEventSchema.parse(out.event)).toEqual(out.event);
  });

  it('fixture bytes are what Parsl writes: prefix then Python json.dumps spacing', () => {
    const bytes = fixture('parsl-2025.03.17/level1-launch.bin');
    expect(bytes[0]).toBe(0x31);
    expect(bytes.toString('utf8')).toContain(
      '{"correlator": "3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a01", "parsl_v": ',
    );
  });
});

const ID = 'id';
const v1 = (obj: Record<string, unknown>): Buffer =>
  Buffer.from('1' + JSON.stringify({ correlator: ID, ...obj }));
const legacy = (obj: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ uuid: ID, ...obj }));

describe('decodeDatagram tolerance', () => {
  it.each<[string, Buffer, Partial<UsageEvent>]>([
    ['v1 launch with only a version', v1({ parsl_v: '2025.03.17' }), { parslVersion: '2025.03.17' }],
    ['v1 launch with only start', v1({ start: 1700000000 }), { startTime: 1700000000 }],
    ['v1 fractional start is floored', v1({ start: 1700000000.9 }), { startTime: 1700000000 }],
    [
      'JSON null means not sent',
      v1({ parsl_v: null, python_v: '3.12.2', project_name: null }),
      {
        pythonVersion: '3.12.2',
        pythonMinor: '3.12',
      },
    ],
    [
      'strings are trimmed, blanks become null',
      v1({ parsl_v: ' 2025.03.17\n', 'platform.system': '  ' }),
      {
        parslVersion: '2025.03.17',
      },
    ],
    [
      'long strings are capped',
      v1({ parsl_v: 'v'.repeat(300), project_name: 'p'.repeat(1000) }),
      { parslVersion: 'v'.repeat(64), projectName: 'p'.repeat(256) },
    ],
    ['python_v garbage keeps the text, minor unknown', v1({ python_v: 'PyPy' }), { pythonVersion: 'PyPy' }],
    [
      'unknown keys pass through',
      v1({ parsl_v: '2099.01.01', new_field: { x: 1 } }),
      {
        parslVersion: '2099.01.01',
      },
    ],
    [
      'v1 launch components with nested lists',
      v1({ tracking_level: 2, components: [[['parsl.executors.a.B']]] }),
      {
        trackingLevel: 2,
        components: [{ kind: 'executor', cls: 'parsl.executors.a.B', attrs: {} }],
      },
    ],
    [
      'v1 closure without execution_time (before 2024.06.10)',
      v1({ end: 1700000042 }),
      {
        phase: 'closure',
        endTime: 1700000042,
      },
    ],
    [
      'v1 closure with negative execution_time',
      v1({ end: 1700000042, execution_time: -3 }),
      {
        phase: 'closure',
        endTime: 1700000042,
      },
    ],
    [
      'v1 closure with a tracking_level',
      v1({ end: 1700000042, tracking_level: 3 }),
      {
        phase: 'closure',
        endTime: 1700000042,
        trackingLevel: 3,
      },
    ],
    [
      'v1 closure with a start too: end decides',
      v1({ end: 1700000042, start: 1700000000 }),
      {
        phase: 'closure',
        endTime: 1700000042,
      },
    ],
    ['legacy launch with only os', legacy({ os: 'Windows' }), { protocol: 'legacy', platform: 'Windows' }],
    [
      'legacy closure with only end',
      legacy({ end: 1_742_256_000.5 }),
      { protocol: 'legacy', phase: 'closure', endTime: 1_742_256_000 },
    ],
    [
      'legacy c_time null',
      legacy({ end: 1_742_256_002, c_time: null, test: true }),
      {
        protocol: 'legacy',
        phase: 'closure',
        endTime: 1_742_256_002,
        isTest: true,
      },
    ],
  ])('%s', (_name, bytes, overrides) => {
    const expected = event({ workflowId: ID, ...overrides });
    expect(decodeDatagram(bytes, META)).toEqual({ kind: 'ok', event: expected });
  });
});

/** Out-of-bounds numbers, relative to META's time of receipt (2025-03-18). */
function boundCases(): [string, Buffer, RejectReason, string][] {
  const t = Math.floor(META.receivedAtMs / 1000);
  const dfk = (attrs: Record<string, unknown>) => [{ c: 'parsl.dataflow.dflow.DataFlowKernel', ...attrs }];
  const cfg = (attrs: Record<string, unknown>) => [{ c: 'parsl.config.Config', ...attrs }];
  return [
    ['v1 app_count 1e300', v1({ end: t, components: dfk({ app_count: 1e300 }) }), 'bad_field', 'app_count'],
    [
      'v1 app_fails over 1e9',
      v1({ end: t, components: dfk({ app_fails: 1e9 + 1 }) }),
      'bad_field',
      'app_fails',
    ],
    [
      'v1 executors_len over 1000',
      v1({ parsl_v: 'x', components: cfg({ executors_len: 1001 }) }),
      'bad_field',
      'executors_len',
    ],
    [
      'v1 execution_time ten years and more',
      v1({ end: t, execution_time: 4e8 }),
      'bad_field',
      'execution_time',
    ],
    ['v1 execution_time far negative', v1({ end: t, execution_time: -4e8 }), 'bad_field', 'execution_time'],
    ['v1 start before 2018', v1({ parsl_v: 'x', start: 1_000_000_000 }), 'bad_field', 'start'],
    ['v1 start two days ahead of receipt', v1({ parsl_v: 'x', start: t + 172_800 }), 'bad_field', 'start'],
    ['v1 end two days ahead of receipt', v1({ end: t + 172_800 }), 'bad_field', 'end'],
    ['legacy t_apps 1e300', legacy({ end: t, t_apps: 1e300 }), 'bad_field', 't_apps'],
    ['legacy failed over 1e9', legacy({ end: t, failed: 2e9 }), 'bad_field', 'failed'],
    ['legacy sites over 1000', legacy({ end: t, sites: 65_536 }), 'bad_field', 'sites'],
    ['legacy start before 2018', legacy({ start: 1 }), 'bad_field', 'start'],
    ['legacy end before 2018', legacy({ end: 1.5 }), 'bad_field', 'end'],
  ];
}

describe('decodeDatagram rejects', () => {
  const cases: [string, Buffer, RejectReason, string][] = [
    ['empty', Buffer.alloc(0), 'empty', ''],
    ['too large', Buffer.alloc(40_000, 0x7b), 'too_large', ''],
    ['bad prefix', Buffer.from('2{}'), 'bad_prefix', ''],
    ['bad utf8', Buffer.from([0x31, 0x7b, 0xff, 0x7d]), 'bad_utf8', ''],
    ['bad json', Buffer.from('1{'), 'bad_json', ''],
    ['not object', Buffer.from('1[]'), 'not_object', ''],
    ['no id', Buffer.from('1{"end": 1}'), 'no_id', ''],
    ['bad id', Buffer.from('{"uuid": 1, "end": 1}'), 'bad_id', ''],
    ['v1 id only', v1({}), 'unknown_phase', ''],
    ['v1 components only', v1({ components: [] }), 'unknown_phase', ''],
    // project_name is sent in closures too, so alone it does not make a launch
    ['v1 project_name only', v1({ project_name: 'x' }), 'unknown_phase', ''],
    ['legacy id and test only', legacy({ test: false }), 'unknown_phase', ''],
    ['v1 tracking_level out of range', v1({ tracking_level: 4 }), 'bad_field', 'tracking_level'],
    ['v1 tracking_level as a string', v1({ tracking_level: '3' }), 'bad_field', 'tracking_level'],
    ['v1 parsl_v as a number', v1({ parsl_v: 2024.1 }), 'bad_field', 'parsl_v'],
    ['v1 platform.system as a list', v1({ 'platform.system': ['Linux'] }), 'bad_field', 'platform.system'],
    ['v1 start as a string', v1({ start: '1700000000' }), 'bad_field', 'start'],
    ['v1 negative start', v1({ start: -1 }), 'bad_field', 'start'],
    ['v1 start after 2100', v1({ start: 5_000_000_000 }), 'bad_field', 'start'],
    ['v1 components not a list', v1({ parsl_v: 'x', components: 'parsl.x' }), 'bad_field', 'components'],
    ['v1 bad component item', v1({ parsl_v: 'x', components: [1] }), 'bad_field', 'components.0'],
    ['v1 closure end null', v1({ end: null }), 'bad_field', 'end'],
    ['v1 closure end as a string', v1({ end: '1700000000' }), 'bad_field', 'end'],
    [
      'v1 closure execution_time as a string',
      v1({ end: 1, execution_time: '4' }),
      'bad_field',
      'execution_time',
    ],
    [
      'v1 closure bad app_count',
      v1({
        end: 1_742_256_000,
        components: [{ c: 'parsl.dataflow.dflow.DataFlowKernel', app_count: 'x' }],
      }),
      'bad_field',
      'components.0.app_count',
    ],
    ['legacy test as a string', legacy({ start: 1, test: 'false' }), 'bad_field', 'test'],
    ['legacy os_v as a number', legacy({ start: 1, os_v: 5 }), 'bad_field', 'os_v'],
    ['legacy t_apps negative', legacy({ end: 1, t_apps: -1 }), 'bad_field', 't_apps'],
    ['legacy sites fractional', legacy({ end: 1, sites: 1.5 }), 'bad_field', 'sites'],
    ['legacy failed as a string', legacy({ end: 1, failed: '0' }), 'bad_field', 'failed'],
    // bounds.ts: every number has one; outside it the datagram is rejected, naming the field
    ...boundCases(),
  ];

  it('covers every reject reason', () => {
    expect(new Set(cases.map(([, , reason]) => reason))).toEqual(new Set(rejectReasons));
  });

  it.each(cases)('%s -> %s', (_name, bytes, reason, detailPart) => {
    const out = decodeDatagram(bytes, META);
    expect(out.kind).toBe('rejected');
    if (out.kind !== 'rejected') return;
    expect(out.reason).toBe(reason);
    expect(out.detail).toContain(detailPart);
    expect(out.detail.length).toBeGreaterThan(0);
  });
});

describe('decodeDatagram: the text rule on every text field (property)', () => {
  const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
  const wellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s;
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 80,
    }),
    fc.constantFrom('\ud800', '\udc00', '\udc00\ud800', 'a\u0000b', '\u2028', '\\', '"\'', 'e\u0301', '😀'),
  );
  const strings = (e: UsageEvent): string[] =>
    [
      e.parslVersion,
      e.pythonVersion,
      e.platform,
      e.osRelease,
      e.projectName,
      ...e.components.flatMap((c) => [c.cls, ...Object.keys(c.attrs), ...Object.values(c.attrs)]),
    ].filter((v): v is string => typeof v === 'string');

  it('every string of a decoded event is well-formed and control-free', () => {
    const t = Math.floor(META.receivedAtMs / 1000);
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, hostile, fc.boolean(), (a, b, c, d, e, closure) => {
        const fields = closure
          ? { end: t, project_name: a, components: [{ c: `parsl.executors.${b}`, [c]: d }, e] }
          : { parsl_v: a, python_v: b, 'platform.system': c, project_name: d, components: [e] };
        const out = decodeDatagram(v1(fields), META);
        if (out.kind !== 'ok') return; // e.g. an empty class name is rejected, with a reason
        for (const s of strings(out.event)) {
          expect(wellFormed(s)).toBe(true);
          expect(CONTROL.test(s)).toBe(false);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
