/**
 * Rows for an insert in ClickHouse's RowBinary format. JSONEachRow cost the aggregator about a
 * sixth of its CPU with the garbage it made (JSON.stringify of every row, the datagram in
 * `events.raw` escaped quote by quote; bench/peer/aggregator-profile-2026-12-03.txt): here each
 * value is written once into one growing buffer, and a string is copied, never escaped.
 *
 * Written by hand because no maintained RowBinary writer runs on Node (clickhouse-js writes
 * only text formats). It covers exactly the column types of `events` and `workflow_changes`.
 *
 * A value that JSONEachRow would send differently, or that ClickHouse would refuse as text (a
 * string that is not well-formed Unicode, a date that is not `YYYY-MM-DD`, an integer out of
 * its type's range, an unknown enum name), makes `encodeRows` answer null: the caller then
 * sends those rows as JSONEachRow, as before, so what lands and what is refused is unchanged.
 */
export type ColumnType =
  | 'UInt8'
  | 'UInt16'
  | 'UInt64'
  | 'Int8'
  | 'Int32'
  | 'Float64'
  | 'Date'
  | 'DateTime'
  | 'String'
  | 'Array(String)'
  | { enum8: Readonly<Record<string, number>> };

export interface Column {
  name: string;
  type: ColumnType;
}

/** Node 20 has String.prototype.isWellFormed; the project's lib (ES2023) does not declare it. */
type WellFormed = string & { isWellFormed(): boolean };

/** Thrown inside the writer when a value cannot be written as JSONEachRow would send it. */
class Unencodable extends Error {}

const DAY_MS = 86_400_000; // ms
/**
 * 18.16's date tables end with 2105 (DATE_LUT_MAX_YEAR): it reads a later date in text as zero
 * but stores it from RowBinary as given, so such values go as JSONEachRow (test/row-binary-insert).
 */
const LAST_YEAR = 2105;

/** digits of s from i to i + n, or -1 when one is not a digit */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** ms since the epoch of a 'YYYY-MM-DD' of `length` characters, or NaN */
function dateMs(s: string, length: number): number {
  if (s.length !== length || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN;
  const [y, m, d] = [digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2)];
  if (y < 1970 || y > LAST_YEAR || m < 1 || m > 12 || d < 1 || d > 31) return Number.NaN;
  const ms = Date.UTC(y, m - 1, d);
  // Date.UTC rolls 2025-02-30 over into March; ClickHouse's text parser would not agree.
  return new Date(ms).getUTCDate() === d ? ms : Number.NaN;
}

/** A growing buffer with the RowBinary primitives. */
export class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 65_536) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private int(v: unknown, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Unencodable();
    return v;
  }

  uint8(v: unknown): void {
    this.room(1);
    this.buf[this.pos++] = this.int(v, 0, 255);
  }

  int8(v: unknown): void {
    this.room(1);
    this.pos = this.buf.writeInt8(this.int(v, -128, 127), this.pos);
  }

  uint16(v: unknown): void {
    this.room(2);
    this.pos = this.buf.writeUInt16LE(this.int(v, 0, 65_535), this.pos);
  }

  int32(v: unknown): void {
    this.room(4);
    this.pos = this.buf.writeInt32LE(this.int(v, -2_147_483_648, 2_147_483_647), this.pos);
  }

  uint32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeUInt32LE(this.int(v, 0, 4_294_967_295), this.pos);
  }

  /** A number, or a string of decimal digits (offsets and versions are strings). */
  uint64(v: unknown): void {
    this.room(8);
    if (typeof v === 'number') {
      const n = this.int(v, 0, Number.MAX_SAFE_INTEGER);
      this.buf.writeUInt32LE(n % 4_294_967_296, this.pos);
      this.buf.writeUInt32LE(Math.floor(n / 4_294_967_296), this.pos + 4);
    } else if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) {
      const n = BigInt(v);
      if (n > 0xffff_ffff_ffff_ffffn) throw new Unencodable();
      this.buf.writeBigUInt64LE(n, this.pos);
    } else {
      throw new Unencodable();
    }
    this.pos += 8;
  }

  float64(v: unknown): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Unencodable();
    this.room(8);
    // JSON.stringify(-0) is "0": write what the text insert stored.
    this.pos = this.buf.writeDoubleLE(v === 0 ? 0 : v, this.pos);
  }

  private varint(n: number): void {
    this.room(10);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(v: unknown): void {
    if (typeof v !== 'string' || !(v as WellFormed).isWellFormed()) throw new Unencodable();
    const n = Buffer.byteLength(v, 'utf8');
    this.varint(n);
    this.room(n);
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }

  strings(v: unknown): void {
    if (!Array.isArray(v)) throw new Unencodable();
    this.varint(v.length);
    for (const s of v) this.string(s);
  }

  /** 'YYYY-MM-DD' as days since the epoch (UInt16) */
  date(v: unknown): void {
    const ms = typeof v === 'string' ? dateMs(v, 10) : Number.NaN;
    if (Number.isNaN(ms)) throw new Unencodable();
    this.uint16(ms / DAY_MS);
  }

  /** 'YYYY-MM-DD hh:mm:ss' (UTC: the server's timezone, config.d/parsl-usage.xml) as seconds (UInt32) */
  dateTime(v: unknown): void {
    if (typeof v !== 'string' || v.charCodeAt(10) !== 32) throw new Unencodable();
    const day = dateMs(v.slice(0, 10), 10);
    const [h, m, s] = [digits(v, 11, 2), digits(v, 14, 2), digits(v, 17, 2)];
    const ok = v.length === 19 && v[13] === ':' && v[16] === ':' && h >= 0 && h < 24 && m >= 0 && m < 60;
    if (!ok || s < 0 || s > 59 || Number.isNaN(day)) throw new Unencodable();
    this.uint32(day / 1_000 + h * 3_600 + m * 60 + s);
  }

  enum8(v: unknown, values: Readonly<Record<string, number>>): void {
    const n = typeof v === 'string' && Object.hasOwn(values, v) ? values[v] : undefined;
    if (n === undefined) throw new Unencodable();
    this.int8(n);
  }

  /** The bytes written so far (a view of the buffer, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  value(type: ColumnType, v: unknown): void {
    switch (type) {
      case 'UInt8':
        return this.uint8(v);
      case 'UInt16':
        return this.uint16(v);
      case 'UInt64':
        return this.uint64(v);
      case 'Int8':
        return this.int8(v);
      case 'Int32':
        return this.int32(v);
      case 'Float64':
        return this.float64(v);
      case 'Date':
        return this.date(v);
      case 'DateTime':
        return this.dateTime(v);
      case 'String':
        return this.string(v);
      case 'Array(String)':
        return this.strings(v);
      default:
        return this.enum8(v, type.enum8);
    }
  }
}

/**
 * The rows as RowBinary, columns in `columns`' order (the insert names them), or null when one
 * value would not be sent as JSONEachRow sends it (see above). `fixed` supplies values that
 * are the same for every row (inserted_at).
 */
export function encodeRows(
  columns: readonly Column[],
  rows: readonly object[],
  fixed: Readonly<Record<string, unknown>> = {},
): Buffer | null {
  const w = new RowBinaryWriter(rows.length * 256);
  try {
    for (const row of rows) {
      const r = row as Record<string, unknown>;
      for (const c of columns) w.value(c.type, c.name in fixed ? fixed[c.name] : r[c.name]);
    }
  } catch (err) {
    if (err instanceof Unencodable) return null;
    throw err;
  }
  return w.bytes();
}
