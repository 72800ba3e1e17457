import type { UsageEvent, WorkflowChangeRow, WorkflowStatus } from '@parsl-usage/schemas';
import { installAgeDays, parslReleaseDate } from '@parsl-usage/schemas';

/**
 * The facts of one workflow run, exactly as they are stored in ClickHouse (`workflows`).
 * Keeping the state identical to the row makes a state read back from ClickHouse
 * indistinguishable from one held in memory, so retractions are always exact.
 */
export type WorkflowState = Omit<WorkflowChangeRow, 'sign' | 'seq'>;

export const EPOCH_DATE = '1970-01-01';
export const EPOCH_DATETIME = '1970-01-01 00:00:00';

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function isoDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
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
  return e.components.filter((c) => c.kind === kind).map((c) => c.cls);
}

function emptyState(e: UsageEvent): WorkflowState {
  return {
    workflow_id: e.workflowId,
    version: e.kafkaOffset,
    status: 'closure_only',
    protocol: e.protocol,
    tracking_level: 0,
    parsl_version: '',
    parsl_release_date: EPOCH_DATE,
    install_age_days: -1,
    python_version: '',
    python_minor: '',
    platform: '',
    os_release: '',
    project_name: '',
    is_test: 0,
    executors: [],
    providers: [],
    launchers: [],
    other_components: [],
    executors_len: 0,
    dependency_resolver: 0,
    mpi: 0,
    app_count: 0,
    app_fails: 0,
    has_launch: 0,
    has_closure: 0,
    day: isoDay(e.receivedAtMs),
    launch_received_at: EPOCH_DATETIME,
    closure_received_at: EPOCH_DATETIME,
    start_time: EPOCH_DATETIME,
    end_time: EPOCH_DATETIME,
    execution_time: -1,
    points: 1,
    kafka_partition: e.kafkaPartition,
    kafka_offset: e.kafkaOffset,
  };
}

function pick<T>(current: T, incoming: T | null | undefined, unset: T): T {
  return current === unset && incoming !== null && incoming !== undefined ? incoming : current;
}

/**
 * Folds one event into a workflow's state. Pure and idempotent: a repeated launch or
 * closure (UDP duplicates, Kafka redelivery) returns `changed: false`. The first launch
 * and the first closure of an id win; a later different one under the same id is a
 * duplicate by definition of the protocol (one launch, one closure per run).
 */
export function applyEvent(
  prev: WorkflowState | null,
  e: UsageEvent,
): { changed: false } | { changed: true; next: WorkflowState } {
  if (prev && e.phase === 'launch' && prev.has_launch) return { changed: false };
  if (prev && e.phase === 'closure' && prev.has_closure) return { changed: false };

  const s: WorkflowState = prev ? { ...prev } : emptyState(e);
  if (e.phase === 'launch') {
    s.has_launch = 1;
    s.protocol = e.protocol;
    s.tracking_level = e.trackingLevel ?? 0;
    s.parsl_version = e.parslVersion ?? '';
    s.python_version = e.pythonVersion ?? '';
    s.python_minor = e.pythonMinor ?? '';
    s.platform = e.platform ?? '';
    s.os_release = e.osRelease ?? '';
    s.is_test = boolFlag(e.isTest);
    s.launch_received_at = isoDateTime(e.receivedAtMs);
    s.start_time = secondsToDateTime(e.startTime);
    // The run belongs to the day it was launched, even when its closure came first.
    s.day = isoDay(e.receivedAtMs);
    s.project_name = e.projectName ?? s.project_name;
  } else {
    s.has_closure = 1;
    s.closure_received_at = isoDateTime(e.receivedAtMs);
    s.end_time = secondsToDateTime(e.endTime);
    s.execution_time =
      e.executionTime !== null && Number.isFinite(e.executionTime) && e.executionTime >= 0
        ? e.executionTime
        : s.execution_time;
    s.project_name = pick(s.project_name, e.projectName, '');
    if (!prev?.has_launch) s.protocol = e.protocol;
  }
  // Launch and closure each report part of the picture; facts only ever accumulate.
  s.executors = uniqSorted([...s.executors, ...componentsOf(e, 'executor')]);
  s.providers = uniqSorted([...s.providers, ...componentsOf(e, 'provider')]);
  s.launchers = uniqSorted([...s.launchers, ...componentsOf(e, 'launcher')]);
  s.other_components = uniqSorted([...s.other_components, ...componentsOf(e, 'other')]);
  s.executors_len = pick(
    s.executors_len,
    e.executorsLen === null ? null : clampUInt(e.executorsLen, 65_535),
    0,
  );
  s.dependency_resolver = Math.max(s.dependency_resolver, boolFlag(e.dependencyResolver));
  s.mpi = Math.max(s.mpi, boolFlag(e.mpi));
  s.app_count = Math.max(s.app_count, clampUInt(e.appCount, Number.MAX_SAFE_INTEGER));
  s.app_fails = Math.max(s.app_fails, clampUInt(e.appFails, Number.MAX_SAFE_INTEGER));

  s.status = statusOf(s);
  s.points = pointsOf(s.tracking_level);
  const release = parslReleaseDate(s.parsl_version);
  s.parsl_release_date = release ?? EPOCH_DATE;
  s.install_age_days = installAgeDays(s.day, release);
  s.version = e.kafkaOffset;
  s.kafka_partition = e.kafkaPartition;
  s.kafka_offset = e.kafkaOffset;
  return { changed: true, next: s };
}

/**
 * The rows that move every rollup from `prev` to `next`: the exact retraction of the
 * previous version, then the new one. Both carry the triggering message's coordinates,
 * which is how the sink knows which offsets it holds.
 */
export function changeRows(
  prev: WorkflowState | null,
  next: WorkflowState,
  at: { kafkaPartition: number; kafkaOffset: string },
): WorkflowChangeRow[] {
  const rows: WorkflowChangeRow[] = [];
  if (prev) {
    rows.push({
      ...prev,
      sign: -1,
      kafka_partition: at.kafkaPartition,
      kafka_offset: at.kafkaOffset,
      seq: 0,
    });
  }
  rows.push({ ...next, sign: 1, kafka_partition: at.kafkaPartition, kafka_offset: at.kafkaOffset, seq: 1 });
  return rows;
}
