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
 * Readers take both formats (`openRecord`): a deployment upgrades without replaying its topic,
 * and a record of either format reads the same. The rejected topic keeps its headers: it is
 * for people, and rare.
 */
export const ENVELOPE_MARK = 0xf5;
export const ENVELOPE_VERSION = 1;
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
