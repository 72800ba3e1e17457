import type { UsageEvent, WorkflowChangeRow, WorkflowStatus } from '@parsl-usage/schemas';
import { installAgeDays, parslReleaseDate } from '@parsl-usage/schemas';

/**
 * The facts of one workflow run, exactly as they are stored in ClickHouse (`workflows`).
 * Keeping the state identical to the row makes a state read back from ClickHouse
 * indistinguishable from one held in memory, so retractions are always exact.
 */
export type WorkflowState = Omit<WorkflowChangeRow, 'sign' | 'seq'>;

/** Columns that say where and when a version was written, not what the run was; they may differ between orders. */
export const BOOKKEEPING_FIELDS = ['version', 'kafka_partition', 'kafka_offset'] as const;
export type WorkflowFacts = Omit<WorkflowState, (typeof BOOKKEEPING_FIELDS)[number]>;

export const EPOCH_DATE = '1970-01-01';
export const EPOCH_DATETIME = '1970-01-01 00:00:00';

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// The day part of the last isoDateTime: a batch's times fall on a few days, and a Date and its
// ISO string per call were 5 % of processBatch's CPU (bench/aggregator/cpu-profile.ts).
let lastDay = Number.NaN;
let lastDayText = '';

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** 'YYYY-MM-DD hh:mm:ss' (UTC) of a time in ms, as `new Date(ms).toISOString()` gives it. */
export function isoDateTime(ms: number): string {
  // Outside years 0000-9999 the ISO string has a sign and six digits: formatted as before.
  if (!(ms >= -62_167_219_200_000 && ms < 253_402_300_800_000)) {
    return new Date(ms).toISOString().slice(0, 19).replace('T', ' '); // throws on NaN, as before
  }
  const day = Math.floor(ms / 86_400_000);
  if (day !== lastDay) {
    lastDayText = new Date(day * 86_400_000).toISOString().slice(0, 10);
    lastDay = day;
  }
  const s = Math.floor((ms - day * 86_400_000) / 1_000);
  return `${lastDayText} ${two(Math.floor(s / 3_600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

function secondsToDateTime(s: number | null): string {
  // DateTime is UInt32 seconds: anything outside it is a broken client clock, not a fact.
  if (s === null || !Number.isFinite(s) || s <= 0 || s >= 4_294_967_295) return EPOCH_DATETIME;
  return isoDateTime(s * 1000);
}

function uniqSorted(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

function clampUInt(n: number | null, max: number): number {
  if (n === null || !Number.isFinite(n) || n < 0) return 0;
  return Math.min(Math.trunc(n), max);
}

function boolFlag(b: boolean | null): number {
  return b ? 1 : 0;
}

/** Level 3 asks for a closure; so did every release before tracking levels existed (legacy and early protocol 1). */
function expectsClosure(s: Pick<WorkflowState, 'tracking_level'>): boolean {
  return s.tracking_level === 3 || s.tracking_level === 0;
}

function statusOf(s: Pick<WorkflowState, 'has_launch' | 'has_closure' | 'tracking_level'>): WorkflowStatus {
  if (s.has_launch && s.has_closure) return 'completed';
  if (s.has_launch) return expectsClosure(s) ? 'running' : 'launched';
  return 'closure_only';
}

/** Parsl's leaderboard rule: a level-3 run is worth 2 points, any other run 1. */
function pointsOf(trackingLevel: number): number {
  return trackingLevel === 3 ? 2 : 1;
}

function componentsOf(e: UsageEvent, kind: 'executor' | 'provider' | 'launcher' | 'other'): string[] {
  return uniqSorted(e.components.filter((c) => c.kind === kind).map((c) => c.cls));
}

/**
 * The facts one launch sets and nothing else does. Two launches are compared on these, in
 * this order, and the greater one supplies all of them: one launch's facts stay together.
 * `start_time` first, so the launch with the later (known) start wins; the rest is a
 * tie-break that makes the order total, so the choice never depends on arrival.
 */
const LAUNCH_FIELDS = [
  'start_time',
  'protocol',
  'tracking_level',
  'parsl_version',
  'python_version',
  'python_minor',
  'platform',
  'os_release',
  'is_test',
] as const;

/** The same for closures: the later (known) end wins, then the longer execution time. */
const CLOSURE_FIELDS = ['end_time', 'execution_time'] as const;

type Scalar = string | number;

/** A total order on the listed fields: numbers by value, text (canonical dates included) by code units. */
function compareOn(fields: readonly (keyof WorkflowState)[], a: WorkflowState, b: WorkflowState): number {
  for (const f of fields) {
    const x = a[f] as Scalar;
    const y = b[f] as Scalar;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** The earlier of two receipt times, where the epoch means "none received". */
function earliestReceipt(a: string, b: string): string {
  if (a === EPOCH_DATETIME) return b;
  if (b === EPOCH_DATETIME) return a;
  return a < b ? a : b;
}

function unionSorted(a: string[], b: string[]): string[] {
  return uniqSorted([...a, ...b]);
}

// Release dates of the versions seen lately: a handful of versions cover nearly every run.
const releaseDates = new Map<string, string | null>();
const RELEASE_CACHE_MAX = 4_096;

function releaseDateOf(version: string): string | null {
  let d = releaseDates.get(version);
  if (d === undefined) {
    d = parslReleaseDate(version);
    if (releaseDates.size >= RELEASE_CACHE_MAX) releaseDates.clear();
    releaseDates.set(version, d);
  }
  return d;
}

/** Status, points, release date, day and install age follow from the other facts. */
function derive(s: WorkflowState): WorkflowState {
  s.status = statusOf(s);
  s.points = pointsOf(s.tracking_level);
  // The run belongs to the day its (first) launch was received, else its first closure's.
  s.day = (s.has_launch ? s.launch_received_at : s.closure_received_at).slice(0, 10);
  const release = releaseDateOf(s.parsl_version);
  s.parsl_release_date = release ?? EPOCH_DATE;
  s.install_age_days = installAgeDays(s.day, release);
  return s;
}

/** The row of a workflow of which only this one datagram is known. */
export function stateOfEvent(e: UsageEvent): WorkflowState {
  return derive(ownFacts(e));
}

/** The datagram's own columns; the derived ones (status, day, ...) are left for derive(). */
function ownFacts(e: UsageEvent): WorkflowState {
  const launch = e.phase === 'launch';
  const executionTime =
    !launch && e.executionTime !== null && Number.isFinite(e.executionTime) && e.executionTime >= 0
      ? e.executionTime
      : -1;
  return {
    workflow_id: e.workflowId,
    version: e.kafkaOffset,
    status: 'closure_only',
    protocol: e.protocol,
    tracking_level: launch ? (e.trackingLevel ?? 0) : 0,
    parsl_version: launch ? (e.parslVersion ?? '') : '',
    parsl_release_date: EPOCH_DATE,
    install_age_days: -1,
    python_version: launch ? (e.pythonVersion ?? '') : '',
    python_minor: launch ? (e.pythonMinor ?? '') : '',
    platform: launch ? (e.platform ?? '') : '',
    os_release: launch ? (e.osRelease ?? '') : '',
    project_name: e.projectName ?? '',
    // A legacy closure's `test` repeats its launch's; the launch's is the fact.
    is_test: launch ? boolFlag(e.isTest) : 0,
    executors: componentsOf(e, 'executor'),
    providers: componentsOf(e, 'provider'),
    launchers: componentsOf(e, 'launcher'),
    other_components: componentsOf(e, 'other'),
    executors_len: e.executorsLen === null ? 0 : clampUInt(e.executorsLen, 65_535),
    dependency_resolver: boolFlag(e.dependencyResolver),
    mpi: boolFlag(e.mpi),
    app_count: clampUInt(e.appCount, Number.MAX_SAFE_INTEGER),
    app_fails: clampUInt(e.appFails, Number.MAX_SAFE_INTEGER),
    has_launch: launch ? 1 : 0,
    has_closure: launch ? 0 : 1,
    day: EPOCH_DATE,
    launch_received_at: launch ? isoDateTime(e.receivedAtMs) : EPOCH_DATETIME,
    closure_received_at: launch ? EPOCH_DATETIME : isoDateTime(e.receivedAtMs),
    start_time: launch ? secondsToDateTime(e.startTime) : EPOCH_DATETIME,
    end_time: launch ? EPOCH_DATETIME : secondsToDateTime(e.endTime),
    execution_time: executionTime,
    points: 1,
    kafka_partition: e.kafkaPartition,
    kafka_offset: e.kafkaOffset,
  };
}

/**
 * The facts of the union of two sets of datagrams of one workflow, from their two rows.
 * Commutative, associative and idempotent on the facts (infra/DESIGN.md, "Conflicting
 * datagrams"), so folding datagrams in any order gives the same row. Every rule reads only
 * stored columns: a row read back from ClickHouse merges exactly like one held in memory.
 * The derived columns (status, points, day, release date, install age) are computed from the
 * merged ones, never read. Bookkeeping columns are `a`'s; applyEvent sets them.
 */
export function mergeStates(a: WorkflowState, b: WorkflowState): WorkflowState {
  const s: WorkflowState = { ...a };
  if (a.has_launch || b.has_launch) {
    const launch = !b.has_launch ? a : !a.has_launch ? b : compareOn(LAUNCH_FIELDS, a, b) >= 0 ? a : b;
    for (const f of LAUNCH_FIELDS) (s as Record<string, unknown>)[f] = launch[f];
  } else if (b.protocol > a.protocol) {
    // Closures alone: the protocol is the only launch field they set ('v1' over 'legacy').
    s.protocol = b.protocol;
  }
  const closure = compareOn(CLOSURE_FIELDS, a, b) >= 0 ? a : b;
  s.end_time = closure.end_time;
  s.execution_time = closure.execution_time;

  s.has_launch = Math.max(a.has_launch, b.has_launch);
  s.has_closure = Math.max(a.has_closure, b.has_closure);
  s.launch_received_at = earliestReceipt(a.launch_received_at, b.launch_received_at);
  s.closure_received_at = earliestReceipt(a.closure_received_at, b.closure_received_at);
  // '' sorts first, so any name beats none; two names (never from one Parsl run) resolve the same way in any order.
  s.project_name = a.project_name >= b.project_name ? a.project_name : b.project_name;
  // Launch and closure each report part of the picture; these facts only ever accumulate.
  s.executors = unionSorted(a.executors, b.executors);
  s.providers = unionSorted(a.providers, b.providers);
  s.launchers = unionSorted(a.launchers, b.launchers);
  s.other_components = unionSorted(a.other_components, b.other_components);
  s.executors_len = Math.max(a.executors_len, b.executors_len);
  s.dependency_resolver = Math.max(a.dependency_resolver, b.dependency_resolver);
  s.mpi = Math.max(a.mpi, b.mpi);
  // Parsl's task counters only grow: the later closure's counts are the larger ones.
  s.app_count = Math.max(a.app_count, b.app_count);
  s.app_fails = Math.max(a.app_fails, b.app_fails);
  return derive(s);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether two rows state the same facts (bookkeeping columns aside). */
export function sameFacts(a: WorkflowState, b: WorkflowState): boolean {
  for (const k of Object.keys(a) as (keyof WorkflowState)[]) {
    if ((BOOKKEEPING_FIELDS as readonly string[]).includes(k)) continue;
    const x = a[k];
    const y = b[k];
    if (Array.isArray(x) && Array.isArray(y) ? !sameList(x, y) : x !== y) return false;
  }
  return true;
}

export function factsOf(s: WorkflowState): WorkflowFacts {
  const { version: _v, kafka_partition: _p, kafka_offset: _o, ...facts } = s;
  return facts;
}

const DECIMAL = /^\d{1,20}$/;

/**
 * `workflow_versions` keeps the highest version, so each new version of a workflow must be
 * above the last. The offset of the triggering message is, when messages come in offset
 * order (the live consumer, reprocess); anything else gets the next number after the last.
 */
function nextVersion(prev: WorkflowState | null, offset: string): string {
  if (prev === null || !DECIMAL.test(prev.version) || !DECIMAL.test(offset)) return offset;
  const after = BigInt(prev.version) + 1n;
  return BigInt(offset) >= after ? offset : after.toString();
}

/**
 * Folds one event into a workflow's state: the merge of the state with the event's own row.
 * The result depends only on the set of datagrams seen, not their order. A datagram that
 * changes no fact (UDP duplicates, Kafka redelivery, a losing conflicting copy received
 * later) returns `changed: false`.
 */
export function applyEvent(
  prev: WorkflowState | null,
  e: UsageEvent,
): { changed: false } | { changed: true; next: WorkflowState } {
  // mergeStates reads only the datagram's own columns of its second row and derives the rest.
  const next = prev ? mergeStates(prev, ownFacts(e)) : stateOfEvent(e);
  if (prev && sameFacts(prev, next)) return { changed: false };
  next.version = nextVersion(prev, e.kafkaOffset);
  next.kafka_partition = e.kafkaPartition;
  next.kafka_offset = e.kafkaOffset;
  return { changed: true, next };
}

/**
 * The rows that move every rollup from `prev` to `next`: the exact retraction of the
 * previous version, then the new one. Both carry the triggering message's coordinates,
 * which is how the sink knows which offsets it holds.
 */
export function changeRows(
  prev: WorkflowState | null,
  next: WorkflowState,
  at: { kafkaPartition: number; kafkaOffset: string; index?: number },
): WorkflowChangeRow[] {
  // Numbered within the record: a pack's entry i owns 2i (retraction) and 2i + 1 (new version).
  const base = 2 * (at.index ?? 0);
  const add = rowOf(next, 1, at, base + 1);
  return prev ? [rowOf(prev, -1, at, base), add] : [add];
}

/**
 * A state as a change row. Every field by name: an object literal of one shape is several times
 * cheaper than a spread of 34 fields (changeRows was 8 % of processBatch's CPU), and the
 * compiler checks that no column is left out.
 */
function rowOf(
  s: WorkflowState,
  sign: 1 | -1,
  at: { kafkaPartition: number; kafkaOffset: string },
  seq: number,
): WorkflowChangeRow {
  return {
    workflow_id: s.workflow_id,
    sign,
    version: s.version,
    status: s.status,
    protocol: s.protocol,
    tracking_level: s.tracking_level,
    parsl_version: s.parsl_version,
    parsl_release_date: s.parsl_release_date,
    install_age_days: s.install_age_days,
    python_version: s.python_version,
    python_minor: s.python_minor,
    platform: s.platform,
    os_release: s.os_release,
    project_name: s.project_name,
    is_test: s.is_test,
    executors: s.executors,
    providers: s.providers,
    launchers: s.launchers,
    other_components: s.other_components,
    executors_len: s.executors_len,
    dependency_resolver: s.dependency_resolver,
    mpi: s.mpi,
    app_count: s.app_count,
    app_fails: s.app_fails,
    has_launch: s.has_launch,
    has_closure: s.has_closure,
    day: s.day,
    launch_received_at: s.launch_received_at,
    closure_received_at: s.closure_received_at,
    start_time: s.start_time,
    end_time: s.end_time,
    execution_time: s.execution_time,
    points: s.points,
    kafka_partition: at.kafkaPartition,
    kafka_offset: at.kafkaOffset,
    seq,
  };
}
