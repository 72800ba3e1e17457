import { describe, expect, it } from 'vitest';
import { decodeDatagram, type WorkflowChangeRow } from '@parsl-usage/schemas';
import { factsOf, positionOf, type RawMessage, type WorkflowState } from '@parsl-usage/aggregator';
import { derivedTables, reprocessFromEvents, type EventSource } from './reprocess.js';

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

describe('reprocessFromEvents: the same rows in any order the audit table returns them', () => {
  const launch = (id: string, over: Record<string, unknown> = {}) =>
    '1' +
    JSON.stringify({
      correlator: id,
      parsl_v: '2025.03.17',
      python_v: '3.12.2',
      'platform.system': 'Linux',
      tracking_level: 3,
      start: 1_790_000_000,
      ...over,
    });
  const closure = (id: string, over: Record<string, unknown> = {}) =>
    '1' +
    JSON.stringify({
      correlator: id,
      end: 1_790_000_100,
      execution_time: 100,
      components: [{ c: 'parsl.dataflow.dflow.DataFlowKernel', app_count: 3, app_fails: 1 }],
      ...over,
    });
  const T = Date.UTC(2026, 9, 1, 12); // ms
  /** [partition, datagram, receive time]; offsets follow the order within each partition. */
  const stored: Array<[number, string, number]> = [
    [0, launch('a'), T],
    [0, closure('a'), T + 60_000],
    [0, closure('a', { end: 1_790_000_200, execution_time: 200 }), T + 61_000], // a second closure
    [0, launch('b', { tracking_level: 1 }), T],
    [0, launch('b', { tracking_level: 1 }), T - 86_400_000], // a copy received a day earlier
    [1, closure('c', { project_name: 'beta' }), T],
    [1, launch('c', { project_name: 'alpha' }), T + 5_000],
    [1, launch('c', { parsl_v: '2024.06.03', start: 1_789_000_000 }), T + 6_000], // a conflicting launch
    [1, closure('d'), T],
    [1, closure('d'), T],
    [1, 'not json', T],
  ];
  const messages = new Map<number, RawMessage[]>();
  for (const [partition, text, at] of stored) {
    const list = messages.get(partition) ?? [];
    list.push({ offset: String(list.length), value: Buffer.from(text), receivedAtMs: at });
    messages.set(partition, list);
  }

  /** What ClickHouse would hold: the highest version per workflow, and every signed row. */
  function memorySink() {
    const rows: WorkflowChangeRow[] = [];
    const latest = new Map<string, WorkflowState>();
    return {
      rows,
      latest,
      sink: {
        insertChanges: (batch: WorkflowChangeRow[]) => {
          rows.push(...batch);
          for (const { sign, seq: _q, ...r } of batch) {
            const have = latest.get(r.workflow_id);
            if (sign === 1 && (have === undefined || BigInt(r.version) > BigInt(have.version)))
              latest.set(r.workflow_id, r);
          }
          return Promise.resolve();
        },
        lookup: (ids: string[]) =>
          Promise.resolve(
            new Map(ids.flatMap((id) => (latest.has(id) ? [[id, latest.get(id) as WorkflowState]] : []))),
          ),
      },
    };
  }

  /** A source that serves each page's offsets (the lowest after `after`) in a shuffled order. */
  function source(
    order: (xs: RawMessage[]) => RawMessage[],
    partitionsReversed: boolean,
    held: Map<number, RawMessage[]>,
  ): EventSource {
    const at = (m: RawMessage) => positionOf(m.offset, m.index ?? 0);
    return {
      partitions: () => Promise.resolve(partitionsReversed ? [1, 0] : [0, 1]),
      page: (partition, after, limit) =>
        Promise.resolve(order((held.get(partition) ?? []).filter((m) => at(m) > after).slice(0, limit))),
    };
  }

  /** The same messages as the relay packs them: three to a Kafka record, indexed 0-2. */
  const packed = new Map(
    [...messages].map(([p, list]) => [
      p,
      list.map((m, i) => ({ ...m, offset: String(Math.floor(i / 3)), index: i % 3 })),
    ]),
  );

  async function rebuild(
    order: (xs: RawMessage[]) => RawMessage[],
    reversed: boolean,
    pageSize: number,
    held = messages,
  ) {
    const mem = memorySink();
    const r = await reprocessFromEvents({
      source: source(order, reversed, held),
      sink: mem.sink,
      decode: decodeDatagram,
      pageSize,
      now: () => T,
    });
    const facts = [...mem.latest.values()]
      .map(factsOf)
      .sort((x, y) => x.workflow_id.localeCompare(y.workflow_id));
    // Signed rows per fact set: only the current rows survive.
    const net = new Map<string, number>();
    for (const { sign, seq: _q, ...row } of mem.rows) {
      const k = JSON.stringify(factsOf(row));
      net.set(k, (net.get(k) ?? 0) + sign);
    }
    const survivors = [...net].filter(([, n]) => n !== 0);
    return { r, facts, survivors };
  }

  const reverse = (xs: RawMessage[]) => [...xs].reverse();
  const rotate = (xs: RawMessage[]) => [...xs.slice(1), ...xs.slice(0, 1)];

  it.each([
    ['pages reversed, partitions reversed', reverse, true, 3],
    ['pages rotated', rotate, false, 2],
    ['one page, reversed', reverse, false, 100],
  ])('%s: the same facts as in offset order', async (_n, order, reversed, pageSize) => {
    const expected = await rebuild((xs) => xs, false, 20_000);
    const got = await rebuild(order, reversed, pageSize);
    // the number of change rows depends on the order (a later winner retracts); nothing else does
    expect({ ...got.r, rows: 0 }).toEqual({ ...expected.r, rows: 0 });
    expect(got.r.messages).toBe(stored.length);
    expect(got.facts).toEqual(expected.facts);
    expect(got.survivors.map(([, n]) => n)).toEqual(got.facts.map(() => 1));
    expect(expected.facts.find((f) => f.workflow_id === 'a')).toMatchObject({ execution_time: 200 });
    expect(expected.facts.find((f) => f.workflow_id === 'b')).toMatchObject({ day: '2026-09-30' });
    expect(expected.facts.find((f) => f.workflow_id === 'c')).toMatchObject({
      parsl_version: '2025.03.17',
      project_name: 'beta',
      status: 'completed',
    });
  });

  it.each([
    ['in order, pages of 2 (a page ends inside a pack)', (xs: RawMessage[]) => xs, 2],
    ['pages reversed, pages of 4', reverse, 4],
  ])('packed three to a record (%s): every entry once, the same facts as unpacked', async (_n, order, pageSize) => {
    const expected = await rebuild((xs) => xs, false, 20_000);
    const got = await rebuild(order, false, pageSize, packed);
    expect(got.r.messages).toBe(stored.length);
    expect(got.facts.map(factsOf)).toEqual(expected.facts.map(factsOf));
    expect(got.survivors.map(([, n]) => n)).toEqual(got.facts.map(() => 1));
  });
});
