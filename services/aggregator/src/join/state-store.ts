import type { WorkflowState } from './workflow-state.js';

/**
 * The join window's workflows, packed into typed-array columns, one slot per workflow.
 *
 * A WorkflowState object costs about 640 B of heap even with its strings shared; a million
 * open workflows then needed 1.3 GiB of RSS (BENCHMARKS.md). Here a slot is about 160 B of
 * typed arrays plus its key in the caller's KeyIndex. Every field comes back exactly as stored:
 * - numbers live in columns of their ClickHouse type (UInt8, UInt16, Int32, Float64), the same
 *   types the values are written to, so nothing that can reach ClickHouse is narrowed here;
 * - strings that repeat across runs (versions, platforms, project names) and component lists
 *   are kept once in a reference-counted pool, and the slot holds the pool id;
 * - per-run strings that are numbers in disguise (dates, date-times, Kafka offsets) are kept as
 *   numbers when the canonical text comes back identical, else in the pool (a negative code).
 */

type Key = keyof WorkflowState;
const U8 = [
  'tracking_level',
  'is_test',
  'dependency_resolver',
  'mpi',
  'has_launch',
  'has_closure',
  'points',
] as const;
const U16 = ['executors_len', 'kafka_partition'] as const;
const I32 = ['install_age_days'] as const;
const F64 = ['app_count', 'app_fails', 'execution_time'] as const;
const POOLED = [
  'status',
  'protocol',
  'parsl_version',
  'python_version',
  'python_minor',
  'platform',
  'os_release',
  'project_name',
] as const;
const LISTS = ['executors', 'providers', 'launchers', 'other_components'] as const;
const DATES = ['parsl_release_date', 'day'] as const;
const DATETIMES = ['launch_received_at', 'closure_received_at', 'start_time', 'end_time'] as const;
const DECIMALS = ['version', 'kafka_offset'] as const;

type Listed =
  | (typeof U8)[number]
  | (typeof U16)[number]
  | (typeof I32)[number]
  | (typeof F64)[number]
  | (typeof POOLED)[number]
  | (typeof LISTS)[number]
  | (typeof DATES)[number]
  | (typeof DATETIMES)[number]
  | (typeof DECIMALS)[number]
  | 'workflow_id';
// Compile-time guard: a field added to WorkflowState must be given a column here.
const _everyFieldHasAColumn: [Exclude<Key, Listed>] extends [never] ? true : never = true;
void _everyFieldHasAColumn;

const DAY_MS = 86_400_000;
const DECIMAL_RE = /^(0|[1-9]\d{0,14})$/; // < 1e15: exact in a double, and String() gives it back
const parseDecimal = (t: string): number => (DECIMAL_RE.test(t) ? Number(t) : NaN);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of canonical 'YYYY-MM-DD' text at `at`, or NaN when it is not one. */
function daysOf(t: string, at: number): number {
  const digit = (i: number) => {
    const c = t.charCodeAt(at + i) - 48;
    return c >= 0 && c <= 9 ? c : NaN;
  };
  if (t.charCodeAt(at + 4) !== 45 || t.charCodeAt(at + 7) !== 45) return NaN; // '-'
  const y = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const m = digit(5) * 10 + digit(6);
  const d = digit(8) * 10 + digit(9);
  if (!(y >= 1970 && m >= 1 && m <= 12 && d >= 1)) return NaN;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (DAYS_IN_MONTH[m - 1] as number) + (m === 2 && leap ? 1 : 0)) return NaN;
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

// Parsing by hand and checking every range makes the text a function of the number, so the
// number gives back the same text: no second formatting to compare against.
function parseDate(t: string): number {
  return t.length === 10 ? daysOf(t, 0) : NaN;
}

function parseDateTime(t: string): number {
  if (t.length !== 19 || t.charCodeAt(10) !== 32 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58)
    return NaN;
  const two = (i: number) => {
    const a = t.charCodeAt(i) - 48;
    const b = t.charCodeAt(i + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
  };
  const h = two(11);
  const mi = two(14);
  const sec = two(17);
  if (!(h <= 23 && mi <= 59 && sec <= 59)) return NaN;
  return daysOf(t, 0) * 86_400 + h * 3_600 + mi * 60 + sec;
}

// Reads: a handful of distinct days are open at once, so their text is kept.
const dayTexts = new Map<number, string>();
function dateText(days: number): string {
  let t = dayTexts.get(days);
  if (t === undefined) {
    t = new Date(days * DAY_MS).toISOString().slice(0, 10);
    if (dayTexts.size < 100_000) dayTexts.set(days, t);
  }
  return t;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
function dateTimeText(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const s = seconds - days * 86_400;
  return `${dateText(days)} ${pad2(Math.floor(s / 3_600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
}

/** Strings (or lists) kept once with a count of the slots that use them; ids are reused. */
class Pool<V> {
  private readonly ids = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly values: V[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];

  acquire(key: string, value: () => V): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.free.pop() ?? this.values.length;
      this.ids.set(key, id);
      this.keys[id] = key;
      this.values[id] = value();
      this.refs[id] = 0;
    }
    this.refs[id] = (this.refs[id] as number) + 1;
    return id;
  }

  release(id: number): void {
    const n = (this.refs[id] as number) - 1;
    this.refs[id] = n;
    if (n > 0) return;
    this.ids.delete(this.keys[id] as string);
    this.keys[id] = '';
    this.values[id] = undefined as V;
    this.free.push(id);
  }

  get(id: number): V {
    return this.values[id] as V;
  }

  get size(): number {
    return this.ids.size;
  }
}

const EMPTY_LIST = Object.freeze([]) as unknown as string[];

type NumberArray = Uint8Array | Uint16Array | Int32Array | Float64Array;
type Columns = { [F in (typeof U8)[number]]: Uint8Array } & { [F in (typeof U16)[number]]: Uint16Array } & {
  [F in (typeof I32)[number] | (typeof DATES)[number]]: Int32Array;
} & { [F in (typeof F64)[number] | (typeof DATETIMES)[number] | (typeof DECIMALS)[number]]: Float64Array } & {
  [F in (typeof POOLED)[number] | (typeof LISTS)[number]]: Uint32Array;
};
// Each field's column type: its ClickHouse type; dates as Int32 days and date-times and offsets
// as Float64, negative when the value is a pool id (see write()).
const COLUMN_TYPES: [readonly Key[], new (n: number) => NumberArray | Uint32Array][] = [
  [U8, Uint8Array],
  [U16, Uint16Array],
  [[...I32, ...DATES], Int32Array],
  [[...F64, ...DATETIMES, ...DECIMALS], Float64Array],
  [[...POOLED, ...LISTS], Uint32Array],
];

interface NumberLike {
  f: Key;
  a: Int32Array | Float64Array;
  /** the number of canonical text (one that `format` gives back exactly), else NaN */
  parse: (t: string) => number;
  format: (n: number) => string;
}

export class StateStore {
  private capacity = 0;
  private strings = new Pool<string>();
  private lists = new Pool<string[]>();
  // Per slot, for the join window: when it was last touched (ms) and whether ClickHouse holds it.
  private touched = new Float64Array(0);
  private dirtyFlags = new Uint8Array(0);
  private readonly free: number[] = [];
  private next = 0;
  // The columns by kind, rebuilt when they grow: read and write loop over these.
  private plain: { f: Key; a: NumberArray }[] = [];
  private pooledCols: { f: Key; a: Uint32Array }[] = [];
  private listCols: { f: Key; a: Uint32Array }[] = [];
  private numberLikeCols: NumberLike[] = [];
  // Every column by field name, for read(): named properties, so each access is a fixed offset.
  private c = {} as Columns;

  constructor(initialCapacity = 1_024) {
    this.grow(Math.max(16, initialCapacity));
  }

  /** Distinct strings and lists held (for metrics and tests). */
  get pooled(): number {
    return this.strings.size + this.lists.size;
  }

  /** Stores a state in a new slot and returns the slot. */
  add(s: WorkflowState): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.next === this.capacity) this.grow(this.capacity * 2);
      slot = this.next++;
    }
    // A reused slot starts clean: its flags may be left from before a clear().
    this.dirtyFlags[slot] = 0;
    this.touched[slot] = 0;
    this.write(slot, s);
    return slot;
  }

  /** Replaces the state in a slot. */
  replace(slot: number, s: WorkflowState): void {
    this.releaseRefs(slot);
    this.write(slot, s);
  }

  /** Frees a slot; its strings are released. */
  remove(slot: number): void {
    this.releaseRefs(slot);
    this.free.push(slot);
  }

  /** Frees every slot. */
  clear(): void {
    this.strings = new Pool<string>();
    this.lists = new Pool<string[]>();
    this.free.length = 0;
    this.next = 0;
  }

  touchedAt(slot: number): number {
    return this.touched[slot] as number;
  }

  touch(slot: number, now: number): void {
    this.touched[slot] = now;
  }

  isDirty(slot: number): boolean {
    return this.dirtyFlags[slot] === 1;
  }

  setDirty(slot: number, dirty: boolean): void {
    this.dirtyFlags[slot] = dirty ? 1 : 0;
  }

  read(slot: number, workflowId: string): WorkflowState {
    const c = this.c;
    const n = (a: NumberArray | Uint32Array) => a[slot] as number;
    const str = (a: Uint32Array) => this.strings.get(a[slot] as number);
    const list = (a: Uint32Array) => {
      const id = a[slot] as number;
      return id === 0 ? EMPTY_LIST : this.lists.get(id - 1);
    };
    const like = (a: Int32Array | Float64Array, format: (v: number) => string) => {
      const v = a[slot] as number;
      return v >= 0 ? format(v) : this.strings.get(-v - 1);
    };
    // One object literal, so every state read has the same hidden class as one built by
    // applyEvent (a loop of dynamic assignments would leave V8 a slow dictionary object).
    return {
      workflow_id: workflowId,
      version: like(c.version, String),
      status: str(c.status) as WorkflowState['status'],
      protocol: str(c.protocol) as WorkflowState['protocol'],
      tracking_level: n(c.tracking_level),
      parsl_version: str(c.parsl_version),
      parsl_release_date: like(c.parsl_release_date, dateText),
      install_age_days: n(c.install_age_days),
      python_version: str(c.python_version),
      python_minor: str(c.python_minor),
      platform: str(c.platform),
      os_release: str(c.os_release),
      project_name: str(c.project_name),
      is_test: n(c.is_test),
      executors: list(c.executors),
      providers: list(c.providers),
      launchers: list(c.launchers),
      other_components: list(c.other_components),
      executors_len: n(c.executors_len),
      dependency_resolver: n(c.dependency_resolver),
      mpi: n(c.mpi),
      app_count: n(c.app_count),
      app_fails: n(c.app_fails),
      has_launch: n(c.has_launch),
      has_closure: n(c.has_closure),
      day: like(c.day, dateText),
      launch_received_at: like(c.launch_received_at, dateTimeText),
      closure_received_at: like(c.closure_received_at, dateTimeText),
      start_time: like(c.start_time, dateTimeText),
      end_time: like(c.end_time, dateTimeText),
      execution_time: n(c.execution_time),
      points: n(c.points),
      kafka_partition: n(c.kafka_partition),
      kafka_offset: like(c.kafka_offset, String),
    };
  }

  private write(slot: number, s: WorkflowState): void {
    for (const { f, a } of this.plain) {
      const v = s[f] as number;
      a[slot] = v;
      // The columns have the ClickHouse types these values are written to; a value that does not
      // fit is a bug upstream, and it must not be narrowed here without a word.
      if (a[slot] !== v && !(Number.isNaN(v) && Number.isNaN(a[slot]))) {
        throw new RangeError(`workflow ${s.workflow_id}: ${f}=${v} does not fit its column`);
      }
    }
    for (const { f, a } of this.pooledCols) {
      const v = s[f] as string;
      a[slot] = this.strings.acquire(v, () => v);
    }
    for (const { f, a } of this.listCols) {
      const list = s[f] as string[];
      // 0 is the empty list, the commonest by far; other lists are stored as pool id + 1.
      a[slot] =
        list.length === 0
          ? 0
          : this.lists.acquire(list.join('\u0000'), () => Object.freeze([...list]) as string[]) + 1;
    }
    for (const { f, a, parse } of this.numberLikeCols) {
      const text = s[f] as string;
      const n = parse(text);
      // Anything that is not canonical text is kept as it was, in the pool.
      a[slot] = n >= 0 ? n : -(this.strings.acquire(text, () => text) + 1);
    }
  }

  private releaseRefs(slot: number): void {
    for (const { a } of this.pooledCols) this.strings.release(a[slot] as number);
    for (const { a } of this.listCols) {
      const id = a[slot] as number;
      if (id !== 0) this.lists.release(id - 1);
    }
    for (const { a } of this.numberLikeCols) {
      const n = a[slot] as number;
      if (n < 0) this.strings.release(-n - 1);
    }
  }

  private grow(capacity: number): void {
    const old = this.c as unknown as Partial<Record<Key, NumberArray | Uint32Array>>;
    const c: Partial<Record<Key, NumberArray | Uint32Array>> = {};
    for (const [fields, Column] of COLUMN_TYPES) {
      for (const f of fields) {
        const a = new Column(capacity);
        const before = old[f];
        if (before) a.set(before);
        c[f] = a;
      }
    }
    this.c = c as unknown as Columns;
    const touched = new Float64Array(capacity);
    touched.set(this.touched);
    this.touched = touched;
    const dirty = new Uint8Array(capacity);
    dirty.set(this.dirtyFlags);
    this.dirtyFlags = dirty;
    this.capacity = capacity;
    const at = <A>(f: Key): { f: Key; a: A } => ({ f, a: c[f] as A });
    this.plain = [...U8, ...U16, ...I32, ...F64].map((f) => at<NumberArray>(f));
    this.pooledCols = POOLED.map((f) => at<Uint32Array>(f));
    this.listCols = LISTS.map((f) => at<Uint32Array>(f));
    this.numberLikeCols = [
      ...DATES.map((f) => ({ ...at<Int32Array>(f), parse: parseDate, format: dateText })),
      ...DATETIMES.map((f) => ({ ...at<Float64Array>(f), parse: parseDateTime, format: dateTimeText })),
      ...DECIMALS.map((f) => ({ ...at<Float64Array>(f), parse: parseDecimal, format: String })),
    ];
  }
}
