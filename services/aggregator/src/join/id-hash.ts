/**
 * The stored-id filter's two hashes, bit for bit those of ClickHouse's `murmurHash3_32` and
 * `murmurHash2_32` (seed 0, over the string's bytes). ClickHouse computes them while it
 * streams the stored ids, so a rebuild reads 8 bytes a row instead of the id's text: nothing
 * is escaped or decoded on the way (a TabSeparated read once turned `a\b` into `a\\b`, and the
 * filter missed the id), and a rebuild at 10M workflows moves 80 MB instead of 400.
 *
 * Written here rather than taken from npm: no murmur package is in the registry this project
 * installs from, and the functions must match ClickHouse's exactly, which
 * test/id-hash-clickhouse.test.ts checks against the real server (and chDB for current releases).
 *
 * Only ids of printable ASCII are hashed in JS (`hashableId`): for those the string's UTF-16
 * code units are its bytes, so no encoding runs on the hot path and no question of how a lone
 * surrogate was stored can arise. The relay accepts no other id; any other is always looked up.
 */

/** Printable ASCII only: the relay's id alphabet, where one char is one byte. */
export function hashableId(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Four chars as one little-endian 32-bit word. */
function word(s: string, i: number): number {
  return (
    s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)
  );
}

/** The last 1-3 chars as a little-endian word (0 when none). */
function tailWord(s: string, from: number): number {
  let k = 0;
  for (let i = s.length - 1; i >= from; i--) k = (k << 8) | s.charCodeAt(i);
  return k;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3_x86_32, seed 0, over the char codes of an ASCII string. */
export function murmur3(id: string): number {
  const n = id.length;
  const blocks = n & ~3;
  let h = 0;
  for (let i = 0; i < blocks; i += 4) {
    let k = Math.imul(word(id, i), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (blocks !== n) {
    let k = Math.imul(tailWord(id, blocks), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const M = 0x5bd1e995;

/** MurmurHash2 (32-bit), seed 0, over the char codes of an ASCII string. */
export function murmur2(id: string): number {
  const n = id.length;
  const blocks = n & ~3;
  let h = n; // seed 0 XOR length
  for (let i = 0; i < blocks; i += 4) {
    let k = Math.imul(word(id, i), M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  if (blocks !== n) h = Math.imul(h ^ tailWord(id, blocks), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h >>> 0;
}

/** The SQL that gives, per stored id, the two hashes in the order `IdFilter.addHashes` takes. */
export const ID_HASHES_SQL = 'murmurHash3_32(workflow_id), murmurHash2_32(workflow_id)';
