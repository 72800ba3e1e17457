import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { decodeDatagram, type UsageEvent } from '@parsl-usage/schemas';
import {
  createClickHouseSink,
  type WorkflowSink,
} from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import {
  applyEvent,
  changeRows,
  type WorkflowState,
} from '@parsl-usage/aggregator/internal/join/workflow-state';
import { clickhouse, freshDatabase } from './setup/env.js';

/**
 * The text rule (schemas/src/text.ts) against the real ClickHouse: arbitrary strings in every
 * text field are decoded, written as the aggregator writes them, and read back through the
 * join's own look-up (sink.lookup, workflow_versions FINAL). What comes back must equal the
 * state held in memory, field for field; then a closure retracts each stored row, and every
 * rollup keyed by text must still equal `workflows`.
 */

const RECEIVED_MS = Date.UTC(2026, 10, 20, 12); // ms
const NASTY = [
  '\ud800',
  '\udc00',
  '\udc00\ud800',
  'a\u0000b',
  '\u0001\u001f\u007f\u0085',
  '\u2028\u2029',
  '\\',
  '\\u0000',
  '"\'',
  '`;--',
  'e\u0301',
  '😀\ud83d',
  '\ufeff',
  '\uffff',
  '   ',
  '\t\n',
];
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.string({ unit: 'grapheme-composite', maxLength: 40 }),
  fc.array(fc.constantFrom(...NASTY), { maxLength: 6 }).map((xs) => xs.join('x')),
  fc.string({ unit: 'binary', minLength: 250, maxLength: 300 }),
);
const fields = {
  project: text,
  parsl: text,
  python: text,
  platform: text,
  executor: text,
  provider: text,
  attrName: text,
  attrValue: text,
};
const record = fc.record(fields);
type Rec = Record<keyof typeof fields, string>;

let run = 0;
function launchOf(id: string, r: Rec, offset: number): UsageEvent | null {
  const datagram =
    '1' +
    JSON.stringify({
      correlator: id,
      parsl_v: r.parsl,
      python_v: r.python,
      'platform.system': r.platform,
      tracking_level: 3,
      project_name: r.project,
      components: [
        { c: `parsl.executors.${r.executor}`, [r.attrName || 'k']: r.attrValue },
        `parsl.providers.${r.provider}`,
      ],
      start: RECEIVED_MS / 1000 - 5,
    });
  const out = decodeDatagram(Buffer.from(datagram), {
    receivedAtMs: RECEIVED_MS,
    kafkaPartition: 0,
    kafkaOffset: String(offset),
  });
  return out.kind === 'ok' ? out.event : null;
}

function closureOf(id: string, r: Rec, offset: number): UsageEvent {
  const datagram =
    '1' +
    JSON.stringify({
      correlator: id,
      end: RECEIVED_MS / 1000,
      execution_time: 5,
      project_name: r.project,
      components: [{ c: 'parsl.dataflow.dflow.DataFlowKernel', app_count: 2, app_fails: 0 }],
    });
  const out = decodeDatagram(Buffer.from(datagram), {
    receivedAtMs: RECEIVED_MS + 1_000,
    kafkaPartition: 0,
    kafkaOffset: String(offset),
  });
  if (out.kind !== 'ok') throw new Error(`closure rejected: ${out.detail}`);
  return out.event;
}

function applied(prev: WorkflowState | null, e: UsageEvent): WorkflowState {
  const r = applyEvent(prev, e);
  if (!r.changed) throw new Error('nothing changed');
  return r.next;
}

describe('the text rule against real ClickHouse', () => {
  let db: string;
  let ch: ClickHouseClient;
  let sink: WorkflowSink;
  let offset = 0;
  beforeAll(async () => {
    db = await freshDatabase('text');
    ch = clickhouse('admin');
    sink = createClickHouseSink(ch, db);
  });
  afterAll(async () => {
    await ch.close();
  });

  const rows = async (sql: string): Promise<string[]> =>
    (await (await ch.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>()).map((r) =>
      JSON.stringify(r),
    );

  it('property: every text field reads back equal through the look-up, and a retraction cancels it exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 40 }), async (recs) => {
        run++;
        const held = new Map<string, WorkflowState>();
        const byId = new Map<string, Rec>();
        const launchRows = [];
        for (const [i, r] of recs.entries()) {
          const id = `t${run}-${i}`;
          const e = launchOf(id, r, ++offset);
          if (e === null) continue; // e.g. an empty class name: rejected with a reason (decode tests)
          const s = applied(null, e);
          held.set(id, s);
          byId.set(id, r);
          launchRows.push(...changeRows(null, s, { kafkaPartition: 0, kafkaOffset: e.kafkaOffset }));
        }
        if (held.size === 0) return;
        await sink.insertChanges(launchRows);
        const stored = await sink.lookup([...held.keys()]);
        expect(stored.size).toBe(held.size);
        for (const [id, s] of held) expect(stored.get(id)).toEqual(s);

        // The closure retracts exactly the state read back from ClickHouse.
        const closeRows = [];
        for (const [id, prev] of stored) {
          const e = closureOf(id, byId.get(id)!, ++offset);
          closeRows.push(
            ...changeRows(prev, applied(prev, e), { kafkaPartition: 0, kafkaOffset: e.kafkaOffset }),
          );
        }
        await sink.insertChanges(closeRows);
      }),
      { numRuns: 12, seed: 20261203 },
    );

    // Every rollup keyed by text equals `workflows`: no retraction missed its row.
    expect(
      await rows(`SELECT project_name, sum(workflows) AS n FROM ${db}.rollup_daily_project
                  GROUP BY project_name HAVING n != 0 ORDER BY project_name`),
    ).toEqual(
      await rows(`SELECT project_name, toInt64(count()) AS n FROM ${db}.workflow_versions FINAL
                  WHERE project_name != '' GROUP BY project_name ORDER BY project_name`),
    );
    expect(
      await rows(`SELECT kind, component, sum(workflows) AS n FROM ${db}.rollup_daily_component
                  GROUP BY kind, component HAVING n != 0 ORDER BY kind, component`),
    ).toEqual(
      await rows(`SELECT tupleElement(kc, 1) AS kind, tupleElement(kc, 2) AS component, toInt64(count()) AS n
                  FROM ${db}.workflow_versions FINAL
                  ARRAY JOIN arrayConcat(arrayMap(c -> ('executor', c), arrayDistinct(executors)),
                                         arrayMap(c -> ('provider', c), arrayDistinct(providers))) AS kc
                  GROUP BY kind, component ORDER BY kind, component`),
    );
    expect(
      await rows(`SELECT parsl_version, python_version, platform, sum(sign) AS n FROM ${db}.workflow_changes
                  GROUP BY parsl_version, python_version, platform HAVING n != 0
                  ORDER BY parsl_version, python_version, platform`),
    ).toEqual(
      await rows(`SELECT parsl_version, python_version, platform, toInt64(count()) AS n
                  FROM ${db}.workflow_versions FINAL
                  GROUP BY parsl_version, python_version, platform
                  ORDER BY parsl_version, python_version, platform`),
    );
    const [completed] = await rows(
      `SELECT countIf(status = 'completed') AS c, count() AS n FROM ${db}.workflow_versions FINAL`,
    );
    const { c, n } = JSON.parse(completed ?? '{}') as { c: string; n: string };
    expect(Number(n)).toBeGreaterThan(0);
    expect(c).toBe(n);
  }, 120_000);
});
