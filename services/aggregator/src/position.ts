/**
 * A datagram's place in its partition as one number: its Kafka offset and its index in the
 * record (a pack holds several datagrams, schemas/src/envelope.ts; other records are index 0),
 * as offset * 2^16 + index. Watermarks are positions, so a crash between two inserts of one
 * pack's entries (isolation writes in chunks) replays exactly the entries that did not land.
 * Offsets stay below 2^47 for centuries at any rate Parsl sends, so the product fits a UInt64
 * in ClickHouse too.
 */
export const INDEX_BITS = 16n;

export function positionOf(offset: string | bigint, index: number): bigint {
  return (BigInt(offset) << INDEX_BITS) | BigInt(index);
}

/** The offset of a position (-1 stays -1: "nothing held"). */
export function offsetOf(position: bigint): bigint {
  return position >> INDEX_BITS;
}

/** A change row's entry index: each entry's rows are numbered 2 * index + 0..1 (workflow-state.ts). */
export const CHANGE_POSITION_SQL = 'kafka_offset * 65536 + intDiv(seq, 2)';
export const EVENT_POSITION_SQL = 'kafka_offset * 65536 + kafka_index';
