import { decodeDatagram, type DecodeOutcome, type MessageMeta } from '@parsl-usage/schemas';

/** Project names that make the decoder below produce a row ClickHouse refuses. */
export const POISON_PROJECT = 'poison-pill';

/**
 * The real decoder, except that an event whose project name starts with POISON_PROJECT gets a
 * lone high surrogate appended: the row ClickHouse 18.16 refuses (Code 25) that the text rule
 * now keeps out. It stands for any row the decoder lets through and the server refuses (a
 * future decoder bug, a server with stricter types), so the isolation is tested on the real
 * server's refusal rather than on a mock of it.
 */
export function refusingDecode(bytes: Buffer, meta: MessageMeta): DecodeOutcome {
  const out = decodeDatagram(bytes, meta);
  if (out.kind !== 'ok' || !out.event.projectName?.startsWith(POISON_PROJECT)) return out;
  return { kind: 'ok', event: { ...out.event, projectName: `${out.event.projectName}\ud800` } };
}
