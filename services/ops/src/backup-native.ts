/**
 * A checker for ClickHouse's Native format as the HTTP interface writes it (blocks of
 * `columns, rows, then per column: name, type, values`, no block info), for the column types
 * this project's tables use. It reads a stream chunk by chunk without holding a whole file,
 * and counts rows; it does not build values. `backup --verify` runs it over every file, so a
 * file that is complete, decompresses and has the manifest's columns and rows is known to load.
 */

export interface NativeColumn {
  name: string;
  type: string;
}

export interface NativeSummary {
  blocks: number;
  rows: number;
  /** the columns of the first block (every block must have the same) */
  columns: NativeColumn[];
}

const FIXED: Record<string, number> = {
  UInt8: 1,
  Int8: 1,
  UInt16: 2,
  Int16: 2,
  UInt32: 4,
  Int32: 4,
  UInt64: 8,
  Int64: 8,
  Float32: 4,
  Float64: 8,
  Date: 2,
  DateTime: 4,
  UUID: 16,
};

export class NativeFormatError extends Error {}

/** Byte width of one value of a fixed-width type, or undefined for variable-width ones. */
export function fixedWidth(type: string): number | undefined {
  const w = FIXED[type];
  if (w !== undefined) return w;
  if (type.startsWith('Enum8(')) return 1;
  if (type.startsWith('Enum16(')) return 2;
  const fs = /^FixedString\((\d+)\)$/.exec(type);
  if (fs?.[1]) return Number(fs[1]);
  const dt = /^DateTime\('[^']*'\)$/.exec(type);
  if (dt) return 4;
  return undefined;
}

/** Pull-based reader over an async iterable of chunks: fast synchronous paths, awaits only at chunk ends. */
class Reader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value);
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    return true;
  }

  /** True at the clean end of the stream (no byte left). */
  async atEnd(): Promise<boolean> {
    while (this.pos >= this.buf.length) if (!(await this.more())) return true;
    return false;
  }

  private async ensure(n: number, what: string): Promise<void> {
    while (this.buf.length - this.pos < n) {
      if (!(await this.more())) throw new NativeFormatError(`truncated: the stream ends inside ${what}`);
    }
  }

  async skip(n: number, what: string): Promise<void> {
    let left = n;
    for (;;) {
      const have = this.buf.length - this.pos;
      if (have >= left) {
        this.pos += left;
        return;
      }
      left -= have;
      this.pos = this.buf.length;
      if (!(await this.more())) throw new NativeFormatError(`truncated: the stream ends inside ${what}`);
    }
  }

  async varUInt(what: string): Promise<number> {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 9; i++) {
      await this.ensure(1, what);
      const b = this.buf[this.pos++] ?? 0;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new NativeFormatError(`${what} is out of range`);
        return result;
      }
      mul *= 128;
    }
    throw new NativeFormatError(`${what}: bad variable-length integer`);
  }

  async string(what: string, maxBytes: number): Promise<string> {
    const n = await this.varUInt(`${what} length`);
    if (n > maxBytes)
      throw new NativeFormatError(`${what} is ${n} bytes long (at most ${maxBytes} expected)`);
    await this.ensure(n, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Skips `count` length-prefixed strings (a String column). */
  async skipStrings(count: number, what: string): Promise<void> {
    let left = count;
    while (left > 0) {
      // Synchronous fast path over what is buffered.
      while (left > 0) {
        const start = this.pos;
        let len = 0;
        let mul = 1;
        let p = this.pos;
        let complete = false;
        for (let i = 0; i < 9 && p < this.buf.length; i++) {
          const b = this.buf[p++] ?? 0;
          len += (b & 0x7f) * mul;
          mul *= 128;
          if ((b & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || p + len > this.buf.length) {
          this.pos = start;
          break;
        }
        this.pos = p + len;
        left--;
      }
      if (left === 0) return;
      // Slow path: one value across a chunk boundary.
      const n = await this.varUInt(`${what} length`);
      await this.skip(n, what);
      left--;
    }
  }

  /** Reads `count` little-endian UInt64 array offsets and returns the last (the nested values' count). */
  async lastOffset(count: number, what: string): Promise<number> {
    if (count === 0) return 0;
    await this.skip((count - 1) * 8, what);
    await this.ensure(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NativeFormatError(`${what}: offset out of range`);
    return Number(v);
  }
}

async function skipColumn(r: Reader, type: string, rows: number, what: string): Promise<void> {
  const width = fixedWidth(type);
  if (width !== undefined) return r.skip(rows * width, what);
  if (type === 'String') return r.skipStrings(rows, what);
  const nullable = /^Nullable\((.+)\)$/.exec(type);
  if (nullable?.[1]) {
    await r.skip(rows, `${what} null map`);
    return skipColumn(r, nullable[1], rows, what);
  }
  const array = /^Array\((.+)\)$/.exec(type);
  if (array?.[1]) {
    const nested = await r.lastOffset(rows, `${what} offsets`);
    return skipColumn(r, array[1], nested, what);
  }
  throw new NativeFormatError(`${what}: column type ${type} is not one this checker reads`);
}

const MAX_NAME_BYTES = 1_024;
const MAX_COLUMNS = 1_000;

/**
 * Reads a whole Native stream; resolves to its blocks, rows and columns, or rejects with a
 * NativeFormatError saying what is wrong (truncated, a type or a column list that changes,
 * an unsupported type).
 */
export async function checkNative(
  source: AsyncIterable<Buffer | Uint8Array | string>,
): Promise<NativeSummary> {
  const r = new Reader(source);
  const out: NativeSummary = { blocks: 0, rows: 0, columns: [] };
  while (!(await r.atEnd())) {
    const block = out.blocks + 1;
    const ncols = await r.varUInt(`block ${block} column count`);
    const nrows = await r.varUInt(`block ${block} row count`);
    if (ncols > MAX_COLUMNS) throw new NativeFormatError(`block ${block} claims ${ncols} columns`);
    const cols: NativeColumn[] = [];
    for (let c = 0; c < ncols; c++) {
      const name = await r.string(`block ${block} column ${c + 1} name`, MAX_NAME_BYTES);
      const type = await r.string(`block ${block} column ${name} type`, MAX_NAME_BYTES);
      await skipColumn(r, type, nrows, `block ${block} column ${name}`);
      cols.push({ name, type });
    }
    if (out.blocks === 0) out.columns = cols;
    else if (!sameColumns(out.columns, cols))
      throw new NativeFormatError(`block ${block} has other columns than block 1`);
    out.blocks++;
    out.rows += nrows;
  }
  return out;
}

export function sameColumns(a: readonly NativeColumn[], b: readonly NativeColumn[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]?.name && c.type === b[i]?.type);
}
