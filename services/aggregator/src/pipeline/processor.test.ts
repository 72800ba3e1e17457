import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDatagram } from '@parsl-usage/schemas';
import { IdFilter } from '../join/id-filter.js';
import { JoinWindow } from '../join/join-window.js';
import { processBatch, type RawMessage } from './processor.js';
import { positionOf } from '../position.js';
import type { WorkflowState } from '../join/workflow-state.js';

const fixture = (p: string) =>
  readFileSync(new URL(`../../../../schemas/fixtures/parsl-2025.03.17/${p}`, import.meta.url), 'utf8');
const LAUNCH = fixture('level3-launch.bin');
const CLOSURE = fixture('level3-closure.bin');
const ID = /"correlator":\s*"[^"]+"/;
const NOW = Date.UTC(2026, 10, 26); // ms

function msg(offset: number, template: string, id: string): RawMessage {
  return {
    offset: String(offset),
    value: Buffer.from(template.replace(ID, `"correlator": "${id}"`)),
    receivedAtMs: NOW,
  };
}

const newWindow = () => new JoinWindow({ maxEntries: 1_000, windowMs: 7 * 86_400_000 });
const NONE = { changes: -1n, events: -1n };

/** A launch applied and flushed earlier, now only in the sink (evicted, or another process). */
async function storedLaunch(id: string): Promise<WorkflowState> {
  const w = newWindow();
  const sink = { lookup: () => Promise.resolve(new Map<string, WorkflowState>()) };
  await processBatch({ decode: decodeDatagram, sink, window: w }, 0, [msg(0, LAUNCH, id)], NONE, NOW);
  const s = w.get(0, id);
  if (s === undefined) throw new Error('launch not applied');
  return s;
}

describe('processBatch with the stored-id filter', () => {
  it.each([
    // [case, filter holds the stored id, expected ids looked up, expected status]
    ['no filter: every id missing from the window is looked up', undefined, 2, 'completed'],
    ['filter knows the stored id: only it is looked up', true, 1, 'completed'],
  ] as const)('%s', async (_case, filterKnows, lookedUp, status) => {
    const stored = randomUUID();
    const fresh = randomUUID();
    const state = await storedLaunch(stored);
    const asked: string[] = [];
    const sink = {
      lookup: (ids: string[]) => {
        asked.push(...ids);
        return Promise.resolve(new Map(ids.filter((i) => i === stored).map((i) => [i, state])));
      },
    };
    let filter: IdFilter | undefined;
    if (filterKnows !== undefined) {
      filter = new IdFilter({ capacity: 1_000 });
      filter.add(stored);
    }
    const window = newWindow();
    const r = await processBatch(
      { decode: decodeDatagram, sink, window, ...(filter ? { filter } : {}) },
      0,
      [msg(10, CLOSURE, stored), msg(11, LAUNCH, fresh)],
      NONE,
      NOW,
    );
    expect(r.lookedUp).toBe(lookedUp);
    expect(asked).toContain(stored);
    // The late closure joined its stored launch instead of counting a closure-only run.
    expect(window.get(0, stored)?.status).toBe(status);
    expect(window.get(0, fresh)?.status).toBe('running');
    // Every id the batch touched is in the filter afterwards, before its rows are written.
    if (filter) expect([stored, fresh].every((i) => filter.mightContain(i))).toBe(true);
  });

  it('an id the filter reports absent is never looked up, and the run counts once', async () => {
    const id = randomUUID();
    const asked: string[] = [];
    const sink = {
      lookup: (ids: string[]) => {
        asked.push(...ids);
        return Promise.resolve(new Map<string, WorkflowState>());
      },
    };
    const filter = new IdFilter({ capacity: 1_000 });
    const r = await processBatch(
      { decode: decodeDatagram, sink, window: newWindow(), filter },
      0,
      [msg(0, LAUNCH, id), msg(1, LAUNCH, id), msg(2, CLOSURE, id)],
      NONE,
      NOW,
    );
    expect(asked).toEqual([]);
    expect(r.unchanged).toBe(1);
    // One +1 row for the launch, then -1/+1 for the closure's update: a sum of sign of 1.
    expect(r.rows.reduce((n, row) => n + row.sign, 0)).toBe(1);
  });
});

describe('processBatch with packs (several datagrams in one Kafka record)', () => {
  const sink = { lookup: () => Promise.resolve(new Map<string, WorkflowState>()) };
  const entry = (offset: number, index: number, template: string, id: string): RawMessage => ({
    ...msg(offset, template, id),
    index,
  });

  it('numbers change rows 2 * index + 0..1 and events by index, so no two share a key', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const r = await processBatch(
      { decode: decodeDatagram, sink, window: newWindow() },
      0,
      [entry(7, 0, LAUNCH, a), entry(7, 1, LAUNCH, b), entry(7, 2, CLOSURE, a)],
      NONE,
      NOW,
    );
    expect(r.rows.map((x) => [x.workflow_id === a ? 'a' : 'b', x.sign, x.seq])).toEqual([
      ['a', 1, 1],
      ['b', 1, 3],
      ['a', -1, 4],
      ['a', 1, 5],
    ]);
    expect(r.events.map((e) => [e.kafka_offset, e.kafka_index])).toEqual([
      ['7', 0],
      ['7', 1],
      ['7', 2],
    ]);
    expect([r.lastOffset, r.lastPosition]).toEqual(['7', positionOf('7', 2)]);
  });

  it.each([
    // [case, watermark, entries applied again, entries recorded again]
    ['nothing held', NONE, 3, 3],
    ['the first two entries held in both tables', { changes: positionOf('7', 1), events: positionOf('7', 1) }, 1, 1],
    ['all held in changes, one in events', { changes: positionOf('7', 2), events: positionOf('7', 0) }, 0, 2],
    ['the record before it held', { changes: positionOf('6', 9), events: positionOf('6', 9) }, 3, 3],
  ])('a watermark inside a pack (%s): only the entries past it', async (_c, mark, applied, recorded) => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const r = await processBatch(
      { decode: decodeDatagram, sink, window: newWindow() },
      0,
      ids.map((id, i) => entry(7, i, LAUNCH, id)),
      mark,
      NOW,
    );
    expect(r.applied).toBe(applied);
    expect(r.events).toHaveLength(recorded);
    expect(r.skipped).toBe(3 - applied);
  });
});
