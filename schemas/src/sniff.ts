import type { RejectReason } from './event.js';

/**
 * The relay's per-datagram check: which protocol, which workflow, and whether the bytes
 * are worth a Kafka write. One JSON.parse and a few comparisons; no schema library.
 */

/**
 * Largest datagram accepted, bytes. Real messages are under 2 KB (a level-3 closure with a
 * handful of components is ~700 bytes); 32 KiB leaves room for configs with hundreds of
 * components while keeping junk out of Kafka.
 */
export const MAX_DATAGRAM_BYTES = 32 * 1024;
/** Longest workflow id accepted, chars. Parsl sends a 36-char uuid4. */
export const MAX_ID_CHARS = 128;

const V1_PREFIX = 0x31; // '1'
const LEGACY_PREFIX = 0x7b; // '{'

export type Protocol = 'v1' | 'legacy';

export type SniffOutcome =
  { kind: 'ok'; protocol: Protocol; id: string } | { kind: 'rejected'; reason: RejectReason; detail: string };

/** What decode needs: the sniff result plus the already-parsed object, so JSON is parsed once. */
export type SniffedMessage =
  | { kind: 'ok'; protocol: Protocol; id: string; message: Record<string, unknown> }
  | { kind: 'rejected'; reason: RejectReason; detail: string };

// ignoreBOM keeps a byte-order mark in the text so JSON.parse rejects it: Python never
// writes one, so a BOM means the sender is not Parsl.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const reject = (
  reason: RejectReason,
  detail: string,
): { kind: 'rejected'; reason: RejectReason; detail: string } => ({
  kind: 'rejected',
  reason,
  detail,
});

/** Visible ASCII (0x21-0x7e): no spaces or control characters in a join key. */
function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/**
 * Classify a datagram and extract its workflow id, keeping the parsed object.
 *
 * The first byte is the protocol discriminator: `1` is protocol 1, `{` is legacy. Leading
 * whitespace before `{` is rejected as bad_prefix even though JSON.parse would accept it:
 * no Parsl release sent it, and a future protocol byte must not be mistaken for legacy.
 */
export function sniffMessage(bytes: Buffer): SniffedMessage {
  if (bytes.length === 0) return reject('empty', 'zero-length datagram');
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    return reject('too_large', `${bytes.length} bytes, limit ${MAX_DATAGRAM_BYTES}`);
  }
  const first = bytes[0];
  let protocol: Protocol;
  let body: Buffer;
  if (first === V1_PREFIX) {
    protocol = 'v1';
    body = bytes.subarray(1);
  } else if (first === LEGACY_PREFIX) {
    protocol = 'legacy';
    body = bytes;
  } else {
    return reject('bad_prefix', `first byte 0x${(first ?? 0).toString(16).padStart(2, '0')}`);
  }

  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return reject('bad_utf8', `${protocol} body is not valid UTF-8`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return reject('bad_json', err instanceof Error ? err.message.slice(0, 200) : 'JSON.parse failed');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const what = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    return reject('not_object', `JSON document is ${what}`);
  }
  const message = parsed as Record<string, unknown>;

  const idKey = protocol === 'v1' ? 'correlator' : 'uuid';
  const id = message[idKey];
  if (id === undefined || id === null) return reject('no_id', `no "${idKey}"`);
  if (typeof id !== 'string') return reject('bad_id', `"${idKey}" is ${typeof id}, not a string`);
  if (id.length === 0) return reject('bad_id', `"${idKey}" is empty`);
  if (id.length > MAX_ID_CHARS)
    return reject('bad_id', `"${idKey}" is ${id.length} chars, limit ${MAX_ID_CHARS}`);
  if (!isVisibleAscii(id)) return reject('bad_id', `"${idKey}" has characters outside visible ASCII`);

  return { kind: 'ok', protocol, id, message };
}

/** The relay's check: protocol and workflow id, or why the datagram is dropped. */
export function sniff(bytes: Buffer): SniffOutcome {
  const sniffed = sniffMessage(bytes);
  if (sniffed.kind === 'rejected') return sniffed;
  return { kind: 'ok', protocol: sniffed.protocol, id: sniffed.id };
}
