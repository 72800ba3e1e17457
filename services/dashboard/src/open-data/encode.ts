/**
 * A day's rows as file bytes, CSV and Parquet, both in memory so that their sha256 is known
 * before anything is written (a closed day's file is only replaced when its bytes change).
 * Both encodings are deterministic: the same rows give the same bytes (the Parquet writer
 * stamps no time), which is what makes "unchanged" a byte comparison.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import parquet, { type ParquetType } from '@dsnp/parquetjs';
import { toCsv } from '../csv.js';
import type { Column, ColumnType, FileRow } from './rollup-files.js';

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** RFC 4180 with the dashboard's CSV rules (csv.ts: text starting like a formula gets a leading '). */
export function csvBytes(columns: readonly Column[], rows: readonly FileRow[]): Buffer {
  const names = columns.map((c) => c.name);
  return Buffer.from(
    toCsv(
      names,
      rows.map((r) => names.map((n) => r[n] ?? null)),
    ),
    'utf8',
  );
}

const PARQUET_TYPE: Record<ColumnType, ParquetType> = {
  date: 'DATE',
  string: 'UTF8',
  int32: 'INT32',
  int64: 'INT64',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
};

function parquetValue(type: ColumnType, v: FileRow[string] | undefined): unknown {
  // DATE is days since 1970-01-01; the library takes a Date at UTC midnight.
  if (type !== 'date') return v;
  const d = new Date(`${String(v)}T00:00:00Z`);
  // an invalid Date would be written as day 0 without a word
  if (Number.isNaN(d.getTime())) throw new Error(`not a day: ${String(v)}`);
  return d;
}

/** Parquet, one row group, the library's default (uncompressed) pages. */
export async function parquetBytes(columns: readonly Column[], rows: readonly FileRow[]): Promise<Buffer> {
  const schema = new parquet.ParquetSchema(
    Object.fromEntries(columns.map((c) => [c.name, { type: PARQUET_TYPE[c.type] }])),
  );
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  // The library types its stream as fs.WriteStream, though it only calls write() and end().
  const stream = sink as unknown as Parameters<typeof parquet.ParquetWriter.openStream>[1];
  const writer = await parquet.ParquetWriter.openStream(schema, stream, {
    rowGroupSize: Math.max(rows.length, 1),
  });
  for (const r of rows)
    await writer.appendRow(Object.fromEntries(columns.map((c) => [c.name, parquetValue(c.type, r[c.name])])));
  await writer.close();
  return Buffer.concat(chunks);
}
