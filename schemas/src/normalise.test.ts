import { describe, expect, it } from 'vitest';
import {
  MAX_COMPONENT_DEPTH,
  MAX_COMPONENTS,
  classifyComponent,
  normaliseComponents,
  pythonMinor,
} from './normalise.js';

const HTEX = 'parsl.executors.high_throughput.executor.HighThroughputExecutor';
const CONFIG = 'parsl.config.Config';
const DFK = 'parsl.dataflow.dflow.DataFlowKernel';

describe('pythonMinor', () => {
  it.each([
    ['3.12.2', '3.12'],
    ['3.12.2+', '3.12'],
    ['3.13.0rc1', '3.13'],
    ['3.9.18', '3.9'],
    ['3.12', '3.12'],
    [' 3.11.7 ', '3.11'],
    ['2.7.18', '2.7'],
    ['garbage', null],
    ['', null],
    ['3', null],
    ['3.', null],
    ['.12.2', null],
    ['v3.12.2', null],
    ['3.1234.1', null],
    [null, null],
  ])('%j -> %j', (input, expected) => {
    expect(pythonMinor(input)).toBe(expected);
  });
});

describe('classifyComponent', () => {
  it.each([
    [HTEX, 'executor'],
    ['parsl.executors.threads.ThreadPoolExecutor', 'executor'],
    ['parsl.providers.slurm.slurm.SlurmProvider', 'provider'],
    ['parsl.launchers.launchers.SrunLauncher', 'launcher'],
    [CONFIG, 'other'],
    [DFK, 'other'],
    ['parsl.channels.local.local.LocalChannel', 'other'],
    // a third-party executor outside the parsl namespace is not counted as a Parsl executor
    ['mypkg.executors.MyExecutor', 'other'],
    ['parsl.executorsX.Foo', 'other'],
  ])('%s -> %s', (cls, kind) => {
    expect(classifyComponent(cls)).toBe(kind);
  });
});

describe('normaliseComponents', () => {
  const nullFacts = {
    executorsLen: null,
    dependencyResolver: null,
    mpi: null,
    appCount: null,
    appFails: null,
  };

  it.each([
    ['no components', [], [], nullFacts],
    [
      'flat Parsl 2025.03.17 launch shape',
      [
        { c: CONFIG, executors_len: 1, dependency_resolver: false },
        { c: HTEX, mpi: false },
        'parsl.providers.local.local.LocalProvider',
        'parsl.launchers.launchers.SingleNodeLauncher',
      ],
      [
        { kind: 'other', cls: CONFIG, attrs: { executors_len: 1, dependency_resolver: false } },
        { kind: 'executor', cls: HTEX, attrs: { mpi: false } },
        { kind: 'provider', cls: 'parsl.providers.local.local.LocalProvider', attrs: {} },
        { kind: 'launcher', cls: 'parsl.launchers.launchers.SingleNodeLauncher', attrs: {} },
      ],
      { ...nullFacts, executorsLen: 1, dependencyResolver: false, mpi: false },
    ],
    [
      'nested lists flatten in order',
      [
        [{ c: DFK, app_count: 3, app_fails: 0 }, [['parsl.providers.x.P'], 'parsl.launchers.y.L']],
        'other.Thing',
      ],
      [
        { kind: 'other', cls: DFK, attrs: { app_count: 3, app_fails: 0 } },
        { kind: 'provider', cls: 'parsl.providers.x.P', attrs: {} },
        { kind: 'launcher', cls: 'parsl.launchers.y.L', attrs: {} },
        { kind: 'other', cls: 'other.Thing', attrs: {} },
      ],
      { ...nullFacts, appCount: 3, appFails: 0 },
    ],
    [
      'empty nested lists vanish',
      [[], [[]], 'parsl.executors.threads.ThreadPoolExecutor'],
      [{ kind: 'executor', cls: 'parsl.executors.threads.ThreadPoolExecutor', attrs: {} }],
      nullFacts,
    ],
    [
      'mpi true if any executor says true',
      [
        { c: HTEX, mpi: false },
        { c: 'parsl.executors.high_throughput.mpi_executor.MPIExecutor', mpi: true },
        { c: HTEX, mpi: false },
      ],
      [
        { kind: 'executor', cls: HTEX, attrs: { mpi: false } },
        {
          kind: 'executor',
          cls: 'parsl.executors.high_throughput.mpi_executor.MPIExecutor',
          attrs: { mpi: true },
        },
        { kind: 'executor', cls: HTEX, attrs: { mpi: false } },
      ],
      { ...nullFacts, mpi: true },
    ],
    [
      'mpi on a non-executor is not an executor fact',
      [{ c: 'mypkg.Thing', mpi: true }],
      [{ kind: 'other', cls: 'mypkg.Thing', attrs: { mpi: true } }],
      nullFacts,
    ],
    [
      'class names and string attributes are trimmed; non-scalar attributes dropped',
      [{ c: `  ${HTEX} `, label: ' htex ', nested: { a: 1 }, list: [1], n: 2.5, nothing: null }],
      [{ kind: 'executor', cls: HTEX, attrs: { label: 'htex', n: 2.5, nothing: null } }],
      nullFacts,
    ],
    [
      'first Config wins',
      [
        { c: CONFIG, executors_len: 2, dependency_resolver: true },
        { c: CONFIG, executors_len: 5 },
      ],
      [
        { kind: 'other', cls: CONFIG, attrs: { executors_len: 2, dependency_resolver: true } },
        { kind: 'other', cls: CONFIG, attrs: { executors_len: 5 } },
      ],
      { ...nullFacts, executorsLen: 2, dependencyResolver: true },
    ],
    [
      'Config without the attributes leaves facts unknown',
      [CONFIG],
      [{ kind: 'other', cls: CONFIG, attrs: {} }],
      nullFacts,
    ],
  ])('%s', (_name, items, components, facts) => {
    expect(normaliseComponents(items)).toEqual({ kind: 'ok', components, facts });
  });

  const nest = (depth: number): unknown[] => {
    let list: unknown[] = ['parsl.executors.threads.ThreadPoolExecutor'];
    for (let i = 1; i < depth; i += 1) list = [list];
    return list;
  };

  it('accepts nesting up to MAX_COMPONENT_DEPTH', () => {
    const out = normaliseComponents(nest(MAX_COMPONENT_DEPTH));
    expect(out.kind).toBe('ok');
  });

  it.each([
    ['a number', [42], 'components.0'],
    ['null', ['parsl.x', null], 'components.1'],
    ['an object without c', [{ cls: 'x' }], 'components.0'],
    ['a non-string c', [{ c: 7 }], 'components.0'],
    ['an empty class name', [' '], 'components.0: empty class name'],
    ['a bad item inside a nested list', [['ok.Class', [true]]], 'components.0.1.0'],
    ['executors_len as a string', [{ c: CONFIG, executors_len: '2' }], 'components.0.executors_len'],
    ['negative executors_len', [{ c: CONFIG, executors_len: -1 }], 'components.0.executors_len'],
    [
      'dependency_resolver as a number',
      [{ c: CONFIG, dependency_resolver: 1 }],
      'components.0.dependency_resolver',
    ],
    ['fractional app_count', [{ c: DFK, app_count: 1.5 }], 'components.0.app_count'],
    ['app_fails as a string', [{ c: DFK, app_fails: '0' }], 'components.0.app_fails'],
    ['mpi as a string', [{ c: HTEX, mpi: 'false' }], 'components.0.mpi'],
    ['nesting deeper than allowed', nest(MAX_COMPONENT_DEPTH + 1), 'nested deeper'],
    ['too many components', Array.from({ length: MAX_COMPONENTS + 1 }, () => 'x.Y'), 'more than'],
  ])('rejects %s', (_name, items, detailPart) => {
    const out = normaliseComponents(items);
    expect(out.kind).toBe('rejected');
    if (out.kind !== 'rejected') return;
    expect(out.reason).toBe('bad_field');
    expect(out.detail).toContain(detailPart);
  });

  it('rejects hostile nesting without recursing', () => {
    const out = normaliseComponents(nest(100_000));
    expect(out).toMatchObject({ kind: 'rejected', reason: 'bad_field' });
  });
});
