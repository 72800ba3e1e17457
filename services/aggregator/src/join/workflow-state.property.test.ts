import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Component, UsageEvent, WorkflowChangeRow } from '@parsl-usage/schemas';
import { pythonMinor } from '@parsl-usage/schemas';
import {
  applyEvent,
  changeRows,
  factsOf,
  isoDateTime,
  mergeStates,
  type WorkflowState,
} from './workflow-state.js';

/**
 * The join depends only on the set of datagrams (infra/DESIGN.md, "Conflicting datagrams"):
 * generated histories of a few workflows (launches, closures, exact and conflicting
 * duplicates, copies received at other times, both protocol generations) are folded
 * through applyEvent in different orders, and the final rows must state the same facts.
 */

const DAY1 = Date.UTC(2026, 9, 1, 12); // ms

const comp = (kind: Component['kind'], cls: string): Component => ({ kind, cls, attrs: {} });
const COMPONENTS = [
  comp('executor', 'parsl.executors.high_throughput.executor.HighThroughputExecutor'),
  comp('executor', 'parsl.executors.threads.ThreadPoolExecutor'),
  comp('provider', 'parsl.providers.local.local.LocalProvider'),
  comp('provider', 'parsl.providers.slurm.slurm.SlurmProvider'),
  comp('launcher', 'parsl.launchers.launchers.SrunLauncher'),
  comp('other', 'parsl.config.Config'),
  comp('other', 'parsl.dataflow.dflow.DataFlowKernel'),
];

/** One decoded datagram. Small domains, so that copies under one id often disagree on a few fields. */
const datagram: fc.Arbitrary<UsageEvent> = fc
  .record({
    workflowId: fc.constantFrom('wf-a', 'wf-b', 'wf-c'),
    phase: fc.constantFrom('launch' as const, 'closure' as const),
    protocol: fc.constantFrom('v1' as const, 'legacy' as const),
    trackingLevel: fc.constantFrom(null, 1, 2, 3),
    parslVersion: fc.constantFrom(null, '2025.03.17', '2024.06.03', '0.5.2', '1.3.0-dev'),
    pythonVersion: fc.constantFrom(null, '3.12.2', '3.8.10'),
    platform: fc.constantFrom(null, 'Linux', 'Darwin'),
    osRelease: fc.constantFrom(null, '5.4.0'),
    projectName: fc.constantFrom(null, 'alpha', 'beta'),
    isTest: fc.constantFrom(null, true, false),
    components: fc.subarray(COMPONENTS),
    executorsLen: fc.constantFrom(null, 0, 1, 2, 70_000),
    dependencyResolver: fc.constantFrom(null, true, false),
    mpi: fc.constantFrom(null, true, false),
    appCount: fc.constantFrom(null, 0, 3, 7),
    appFails: fc.constantFrom(null, 0, 1, 2),
    // -5: a broken client clock
    startTime: fc.constantFrom(null, 1_790_000_000, 1_790_000_050, -5),
    endTime: fc.constantFrom(null, 1_790_000_100, 1_790_000_200, -5),
    executionTime: fc.constantFrom(null, 100, 150.5, -3),
    // seconds apart, and days apart (the run's day)
    receivedAtMs: fc.constantFrom(DAY1, DAY1 + 1_500, DAY1 + 86_400_000, DAY1 - 3 * 86_400_000),
  })
  .map((e) => ({
    ...e,
    pythonMinor: pythonMinor(e.pythonVersion),
    kafkaPartition: 0,
    kafkaOffset: '0',
  }));

/** A history: datagrams, then copies of some of them, exact or received at another time. */
function historyOf(maxBase: number, maxCopies: number): fc.Arbitrary<UsageEvent[]> {
  return fc.array(datagram, { minLength: 1, maxLength: maxBase }).chain((base) =>
    fc
      .array(
        fc.record({
          i: fc.nat(base.length - 1),
          at: fc.option(fc.constantFrom(DAY1 + 700, DAY1 + 2 * 86_400_000)),
        }),
        { maxLength: maxCopies },
      )
      .map((copies) => [
        ...base,
        ...copies.map(({ i, at }) => {
          const e = base[i] as UsageEvent;
          return at === null ? e : { ...e, receivedAtMs: at };
        }),
      ]),
  );
}

interface Folded {
  states: Map<string, WorkflowState>;
  rows: WorkflowChangeRow[];
}

/**
 * Folds events in the given order. Offsets follow arrival, as Kafka assigns them, unless the
 * events already carry their own (`keepOffsets`: a replay in another order).
 */
function fold(events: UsageEvent[], keepOffsets = false): Folded {
  const states = new Map<string, WorkflowState>();
  const rows: WorkflowChangeRow[] = [];
  events.forEach((raw, i) => {
    const e = keepOffsets ? raw : { ...raw, kafkaOffset: String(i) };
    const prev = states.get(e.workflowId) ?? null;
    const r = applyEvent(prev, e);
    if (!r.changed) return;
    rows.push(...changeRows(prev, r.next, { kafkaPartition: 0, kafkaOffset: e.kafkaOffset }));
    states.set(e.workflowId, r.next);
  });
  return { states, rows };
}

function facts(f: Folded): unknown[] {
  return [...f.states.values()].map(factsOf).sort((a, b) => a.workflow_id.localeCompare(b.workflow_id));
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/** The history with each workflow's datagrams, in any order, and each permutation of it. */
const withPermutations = (maxBase: number, maxCopies: number, count: number) =>
  historyOf(maxBase, maxCopies).chain((h) =>
    fc.tuple(
      fc.constant(h),
      fc.array(fc.shuffledSubarray(h, { minLength: h.length, maxLength: h.length }), {
        minLength: count,
        maxLength: count,
      }),
    ),
  );

describe('applyEvent: the rows depend on the set of datagrams, not on their order', () => {
  it('every permutation of a short history gives the same facts', () => {
    fc.assert(
      fc.property(historyOf(4, 2), (h) => {
        const expected = facts(fold(h));
        for (const p of permutations(h)) expect(facts(fold(p))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('random permutations of long interleaved histories give the same facts', () => {
    fc.assert(
      fc.property(withPermutations(30, 10, 4), ([h, perms]) => {
        const expected = facts(fold(h));
        for (const p of perms) expect(facts(fold(p))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('retractions are exact: in any order the signed rows sum to the final rows alone', () => {
    fc.assert(
      fc.property(withPermutations(20, 8, 2), ([h, perms]) => {
        for (const order of [h, ...perms]) {
          const f = fold(order);
          const live = new Map<string, number>();
          for (const { sign, seq: _q, ...row } of f.rows) {
            const key = JSON.stringify(factsOf(row));
            const n = (live.get(key) ?? 0) + sign;
            // A retraction removes a row that was added before, never one that is not there.
            expect(n).toBeGreaterThanOrEqual(0);
            if (n === 0) live.delete(key);
            else live.set(key, n);
          }
          const final = [...f.states.values()].map((s) => JSON.stringify(factsOf(s)));
          expect([...live.entries()].sort()).toEqual(final.map((k) => [k, 1]).sort());
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a replay in another order (offsets not ascending) gives the same facts, with versions still rising', () => {
    fc.assert(
      fc.property(withPermutations(20, 6, 2), ([h, perms]) => {
        const numbered = h.map((e, i) => ({ ...e, kafkaOffset: String(i) }));
        const expected = facts(fold(numbered, true));
        for (const p of perms) {
          // the same messages (same offsets), read back in another order
          const replay = p.map((e) => numbered[h.indexOf(e)] as UsageEvent);
          const f = fold(replay, true);
          expect(facts(f)).toEqual(expected);
          const last = new Map<string, bigint>();
          for (const r of f.rows.filter((row) => row.sign === 1)) {
            const v = BigInt(r.version);
            expect(v > (last.get(r.workflow_id) ?? -1n)).toBe(true);
            last.set(r.workflow_id, v);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('mergeStates is commutative, associative and idempotent on facts', () => {
    const oneWorkflow = fc.array(
      datagram.map((e) => ({ ...e, workflowId: 'wf' })),
      { minLength: 1, maxLength: 5 },
    );
    const stateOf = (events: UsageEvent[]): WorkflowState => {
      const s = fold(events).states.get('wf');
      if (s === undefined) throw new Error('a non-empty history has a state');
      return s;
    };
    fc.assert(
      fc.property(oneWorkflow, oneWorkflow, oneWorkflow, (ea, eb, ec) => {
        const [a, b, c] = [stateOf(ea), stateOf(eb), stateOf(ec)];
        const f = factsOf;
        expect(f(mergeStates(a, b))).toEqual(f(mergeStates(b, a)));
        expect(f(mergeStates(mergeStates(a, b), c))).toEqual(f(mergeStates(a, mergeStates(b, c))));
        expect(f(mergeStates(a, a))).toEqual(f(a));
        // The merge of two histories' rows is the row of their union.
        expect(f(mergeStates(a, b))).toEqual(f(stateOf([...ea, ...eb])));
      }),
      { numRuns: 300 },
    );
  });
});

describe('isoDateTime', () => {
  const reference = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  it('formats every time as the Date-based formatting it replaced', () => {
    // Whole range of DateTime and beyond, in any order (its day cache must never leak).
    const ms = fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000_000 });
    fc.assert(
      fc.property(fc.array(ms, { minLength: 1, maxLength: 20 }), (xs) =>
        xs.every((x) => isoDateTime(x) === reference(x)),
      ),
    );
  });

  it.each([0, -1, 999, 86_399_999, 86_400_000, Date.UTC(2026, 11, 7, 23, 59, 59, 999)])('formats %d', (x) => {
    expect(isoDateTime(x)).toBe(reference(x));
  });

  it('throws on a time that is not a number, as before', () => {
    expect(() => isoDateTime(Number.NaN)).toThrow(RangeError);
  });
});
