/**
 * The raw topic's record format. Format 1 (until 2026-12) carried each datagram's metadata in
 * four Kafka headers (`received_at_ms`, `relay_id`, `protocol`, `relay_seq`); kafkajs encodes
 * every header with a fresh 512-byte encoder, which cost the relay 16-19 us of CPU per record,
 * half of its whole budget (BENCHMARKS.md). Format 2 carries the same four values in a compact
 * envelope in front of the datagram, inside the record's value, and sends no headers:
 *
 *   byte 0        0xF5, the envelope mark: never the first byte of UTF-8 text, and every
 *                 datagram the relay accepts is UTF-8 text (v1 begins with '1', legacy with '{')
 *   byte 1        envelope version, 1
 *   byte 2        protocol: 1 = v1, 2 = legacy
 *   bytes 3-8     received_at_ms, unsigned 48-bit little-endian (good until the year 10889)
 *   byte 9        S, the length of relay_seq in bytes
 *   byte 10       R, the length of relay_id in bytes
 *   then          relay_seq (S bytes, ASCII), relay_id (R bytes, UTF-8), the datagram as received
 *
 * Format 3, the pack, holds several format-2 envelopes of one partition in one record. What
 * kafkajs costs the relay is per record (a 512-byte encoder, the record's fields, CRC32C in
 * JavaScript), so a pack of n datagrams pays it once instead of n times:
 *
 *   byte 0        0xF5, the envelope mark
 *   byte 1        envelope version, 2 (a pack)
 *   bytes 2-3     n, the number of entries, unsigned 16-bit little-endian, at least 1
 *   then n times  L (unsigned 32-bit little-endian), and a format-2 envelope of L bytes
 *
 * An entry is addressed by (partition, offset, index), its index being its place in the pack
 * from 0; a format-1 or format-2 record is index 0. Readers take every format (`openRecords`):
 * a deployment upgrades without replaying its topic, and a record of any format reads the
 * same. The rejected topic keeps its headers: it is for people, and rare.
 */
export const ENVELOPE_MARK = 0xf5;
export const ENVELOPE_VERSION = 1;
export const PACK_VERSION = 2;
/** The most entries a pack may hold: an entry's change rows are numbered 2 * index + 0..1 in a UInt16. */
export const PACK_MAX_ENTRIES = 32_767;
const PACK_HEADER_BYTES = 4;
const FIXED_BYTES = 11;
const MAX_TEXT_BYTES = 255; // one length byte

export type WireProtocol = 'v1' | 'legacy';

export interface EnvelopeFields {
  protocol: WireProtocol;
  receivedAtMs: number;
  relaySeq: string;
  relayId: string;
}

/**
 * The fields that stay the same for every record of one relay, encoded once: the relay id
 * (truncated to 255 bytes, on a character boundary).
 */
export interface EnvelopeWriter {
  wrap(datagram: Buffer, protocol: WireProtocol, receivedAtMs: number, relaySeq: string): Buffer;
}

export function envelopeWriter(relayId: string): EnvelopeWriter {
  let id = Buffer.from(relayId, 'utf8');
  if (id.length > MAX_TEXT_BYTES)
    id = Buffer.from(new TextDecoder().decode(id.subarray(0, MAX_TEXT_BYTES)).replace(/\uFFFD$/, ''));
  const idBytes = id;
  return {
    wrap(datagram, protocol, receivedAtMs, relaySeq) {
      const seqLen = relaySeq.length; // ASCII by construction (records.ts)
      if (seqLen > MAX_TEXT_BYTES) throw new RangeError(`relay_seq of ${seqLen} chars`);
      const out = Buffer.allocUnsafe(FIXED_BYTES + seqLen + idBytes.length + datagram.length);
      out[0] = ENVELOPE_MARK;
      out[1] = ENVELOPE_VERSION;
      out[2] = protocol === 'v1' ? 1 : 2;
      out.writeUIntLE(receivedAtMs, 3, 6);
      out[9] = seqLen;
      out[10] = idBytes.length;
      out.write(relaySeq, FIXED_BYTES, 'latin1');
      idBytes.copy(out, FIXED_BYTES + seqLen);
      datagram.copy(out, FIXED_BYTES + seqLen + idBytes.length);
      return out;
    },
  };
}

/**
 * Packs format-2 envelopes (the values `EnvelopeWriter.wrap` returns) into one format-3 record,
 * in their order. One allocation and one copy of each envelope.
 */
export function packEnvelopes(envelopes: readonly Buffer[]): Buffer {
  const n = envelopes.length;
  if (n < 1 || n > PACK_MAX_ENTRIES) throw new RangeError(`a pack of ${n} entries`);
  let size = PACK_HEADER_BYTES;
  for (const e of envelopes) size += 4 + e.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = ENVELOPE_MARK;
  out[1] = PACK_VERSION;
  out.writeUInt16LE(n, 2);
  let at = PACK_HEADER_BYTES;
  for (const e of envelopes) {
    out.writeUInt32LE(e.length, at);
    e.copy(out, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/** Whether a record's value is a format-3 pack (by its first two bytes only). */
export function isPack(value: Buffer | null): boolean {
  return value !== null && value.length >= 2 && value[0] === ENVELOPE_MARK && value[1] === PACK_VERSION;
}

/** One record of the raw topic, whichever its format, as the readers need it. */
export type OpenedRecord =
  | { kind: 'envelope'; datagram: Buffer; fields: EnvelopeFields }
  /** format 1, or a record some other producer wrote: metadata from the headers, if any */
  | { kind: 'bare'; datagram: Buffer; receivedAtMs: number | undefined; relaySeq: string | undefined }
  /** marked as an envelope but cut short or of an unknown version: the value is passed on whole */
  | { kind: 'malformed'; datagram: Buffer; detail: string };

type Headers = Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined;

function header(h: Headers, name: string): string | undefined {
  const v = h?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

export function openRecord(value: Buffer, headers?: Headers): OpenedRecord {
  if (value.length === 0 || value[0] !== ENVELOPE_MARK) {
    const at = Number(header(headers, 'received_at_ms'));
    return {
      kind: 'bare',
      datagram: value,
      receivedAtMs: Number.isSafeInteger(at) && at > 0 ? at : undefined,
      relaySeq: header(headers, 'relay_seq'),
    };
  }
  if (value.length < FIXED_BYTES)
    return { kind: 'malformed', datagram: value, detail: `envelope of ${value.length} bytes` };
  if (value[1] !== ENVELOPE_VERSION)
    return { kind: 'malformed', datagram: value, detail: `envelope version ${value[1]}` };
  const proto = value[2];
  if (proto !== 1 && proto !== 2)
    return { kind: 'malformed', datagram: value, detail: `envelope protocol ${proto}` };
  const seqLen = value[9] as number;
  const idLen = value[10] as number;
  const start = FIXED_BYTES + seqLen + idLen;
  if (start > value.length) return { kind: 'malformed', datagram: value, detail: 'envelope cut short' };
  return {
    kind: 'envelope',
    datagram: value.subarray(start),
    fields: {
      protocol: proto === 1 ? 'v1' : 'legacy',
      receivedAtMs: value.readUIntLE(3, 6),
      relaySeq: value.toString('latin1', FIXED_BYTES, FIXED_BYTES + seqLen),
      relayId: value.toString('utf8', FIXED_BYTES + seqLen, start),
    },
  };
}

/**
 * The entries of a record of any format, in order: one for a format-1 or format-2 record, n for
 * a pack. A pack cut short, or with an entry that is not a format-2 envelope, is passed on as
 * one malformed entry, whole: the decoder then rejects it with a reason, and nothing of it is
 * taken for data.
 */
export function openRecords(value: Buffer, headers?: Headers): OpenedRecord[] {
  if (!isPack(value)) return [openRecord(value, headers)];
  const entries = packEntries(value);
  if (typeof entries === 'string') return [{ kind: 'malformed', datagram: value, detail: entries }];
  const out: OpenedRecord[] = [];
  for (const e of entries) {
    const r = openRecord(e);
    if (r.kind !== 'envelope')
      return [{ kind: 'malformed', datagram: value, detail: `pack entry ${out.length}: not an envelope` }];
    out.push(r);
  }
  return out;
}

/**
 * The format-2 envelopes a pack holds, as views of its value; any other record (or a malformed
 * pack) as itself. For readers that take a topic one datagram at a time, such as tests.
 */
export function recordEntries(value: Buffer): Buffer[] {
  if (!isPack(value)) return [value];
  const entries = packEntries(value);
  return typeof entries === 'string' ? [value] : entries;
}

/** A pack's entries as views of its value, or why it is malformed. */
function packEntries(value: Buffer): Buffer[] | string {
  if (value.length < PACK_HEADER_BYTES) return `pack of ${value.length} bytes`;
  const n = value.readUInt16LE(2);
  if (n < 1) return 'pack of 0 entries';
  const entries: Buffer[] = [];
  let at = PACK_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    if (at + 4 > value.length) return `pack cut short at entry ${i}`;
    const len = value.readUInt32LE(at);
    if (at + 4 + len > value.length) return `pack cut short at entry ${i}`;
    entries.push(value.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== value.length) return `pack has ${value.length - at} bytes after its ${n} entries`;
  return entries;
}

/**
 * Every relay_seq a record carries: one for a format-1 or format-2 record, one per entry of a
 * pack. A pack is one Kafka record, so it lands whole or not at all: the read-back finds every
 * datagram of it, or none.
 */
export function relaySeqsOf(value: Buffer | null, headers?: Headers): string[] {
  const fromHeader = header(headers, 'relay_seq');
  if (fromHeader !== undefined) return [fromHeader];
  if (value === null) return [];
  const seqs: string[] = [];
  for (const r of openRecords(value)) if (r.kind === 'envelope') seqs.push(r.fields.relaySeq);
  return seqs;
}

/**
 * The relay_seq of a record of either format, if it has one: what the read-back matches on.
 * The header first: a rejected record keeps its headers, and its value is whatever a sender
 * sent, which may well begin with the envelope mark.
 */
export function relaySeqOf(value: Buffer | null, headers?: Headers): string | undefined {
  const fromHeader = header(headers, 'relay_seq');
  if (fromHeader !== undefined || value === null) return fromHeader;
  const r = openRecord(value);
  return r.kind === 'envelope' ? r.fields.relaySeq : undefined;
}
