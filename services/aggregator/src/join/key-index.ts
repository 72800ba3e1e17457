/**
 * The join window's index: (Kafka partition, workflow id) -> slot of the StateStore, in least
 * recently used order.
 *
 * A Map keyed by `partition\0id` strings kept about 100 B of JS heap per open workflow (a
 * 56-byte string and a hash-table entry), a third of the window's memory at 1,000,000 open
 * workflows, and a million old-space objects for every major GC to mark. Parsl's ids are
 * uuid4 text, so here an id in canonical form (lowercase 8-4-4-4-12 hex) is kept as 16 bytes
 * in typed arrays, in an open-addressing table with linear probing; the LRU order is a doubly
 * linked list through per-slot arrays. About 45 B per workflow, none of it on the JS heap. Any
 * other id (legacy clients, odd senders) goes to an ordinary Map, so every id is kept exactly.
 */

const EMPTY = 0; // in `table`: no entry; otherwise slot + 1
const NONE = -1; // end of the LRU list
const KIND_FREE = 0;
const KIND_UUID = 1;
const KIND_OTHER = 2;

const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[97 + c] = 10 + c;

const scratch = new Uint32Array(4);

/** Fills `scratch` with the 128 bits of a canonical lowercase UUID; false for any other text. */
function parseUuid(id: string): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let nibbles = 0;
  let w = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false; // '-'
      continue;
    }
    const v = c < 128 ? (HEX[c] as number) : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++nibbles === 8) {
      scratch[w++] = word >>> 0;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}

function mix(a: number, b: number, c: number, d: number, p: number): number {
  // murmur3's finaliser over a multiplicative combination: test ids are sequential, not random.
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ d ^ (h >>> 13), 0xc2b2ae35);
  h ^= Math.imul(p + 1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class KeyIndex {
  private words = new Uint32Array(0);
  private partitions = new Int32Array(0);
  private hashes = new Uint32Array(0);
  private kinds = new Uint8Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private head = NONE;
  private tail = NONE;
  private capacity = 0;
  private table = new Int32Array(16);
  private uuids = 0;
  private readonly others = new Map<string, number>();
  private readonly otherKeys = new Map<number, string>();

  get size(): number {
    return this.uuids + this.others.size;
  }

  /** The slot of (partition, id), or undefined. */
  get(partition: number, id: string): number | undefined {
    if (!parseUuid(id)) return this.others.get(`${partition}\u0000${id}`);
    const i = this.find(partition, mix(scratch[0]!, scratch[1]!, scratch[2]!, scratch[3]!, partition));
    return i < 0 ? undefined : (this.table[i] as number) - 1;
  }

  /** Adds (partition, id) -> slot as the most recently used entry. The key must be absent and the slot unused. */
  add(partition: number, id: string, slot: number): void {
    if (slot >= this.capacity) this.grow(Math.max(slot + 1, this.capacity * 2, 1_024));
    if (parseUuid(id)) {
      if ((this.uuids + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
      const hash = mix(scratch[0]!, scratch[1]!, scratch[2]!, scratch[3]!, partition);
      this.words.set(scratch, slot * 4);
      this.hashes[slot] = hash;
      this.kinds[slot] = KIND_UUID;
      let i = hash & (this.table.length - 1);
      while (this.table[i] !== EMPTY) i = (i + 1) & (this.table.length - 1);
      this.table[i] = slot + 1;
      this.uuids++;
    } else {
      const key = `${partition}\u0000${id}`;
      this.others.set(key, slot);
      this.otherKeys.set(slot, key);
      this.kinds[slot] = KIND_OTHER;
    }
    this.partitions[slot] = partition;
    this.append(slot);
  }

  /** Marks a slot as the most recently used. */
  touch(slot: number): void {
    if (this.tail === slot) return;
    this.unlink(slot);
    this.append(slot);
  }

  /** Removes a slot's key. */
  remove(slot: number): void {
    const kind = this.kinds[slot];
    if (kind === KIND_UUID) {
      const w = this.words;
      const i = this.find(
        this.partitions[slot] as number,
        this.hashes[slot] as number,
        w[slot * 4],
        w[slot * 4 + 1],
        w[slot * 4 + 2],
        w[slot * 4 + 3],
      );
      if (i < 0) throw new Error(`key-index: slot ${slot} is not in the table`);
      this.deleteAt(i);
      this.uuids--;
    } else if (kind === KIND_OTHER) {
      this.others.delete(this.otherKeys.get(slot) as string);
      this.otherKeys.delete(slot);
    } else {
      throw new Error(`key-index: slot ${slot} holds no key`);
    }
    this.kinds[slot] = KIND_FREE;
    this.unlink(slot);
  }

  partitionOf(slot: number): number {
    return this.partitions[slot] as number;
  }

  /** The least recently used slot, or undefined when empty. */
  oldest(): number | undefined {
    return this.head === NONE ? undefined : this.head;
  }

  /** The next more recently used slot after `slot`, or undefined. Read it before removing `slot`. */
  newer(slot: number): number | undefined {
    const n = this.next[slot] as number;
    return n === NONE ? undefined : n;
  }

  clear(): void {
    this.table.fill(EMPTY);
    this.kinds.fill(KIND_FREE);
    this.uuids = 0;
    this.others.clear();
    this.otherKeys.clear();
    this.head = this.tail = NONE;
  }

  /** Table position of the key in `scratch` (or the given words), or -1. */
  private find(
    partition: number,
    hash: number,
    a = scratch[0] as number,
    b = scratch[1] as number,
    c = scratch[2] as number,
    d = scratch[3] as number,
  ): number {
    const mask = this.table.length - 1;
    const words = this.words;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const e = this.table[i] as number;
      if (e === EMPTY) return -1;
      const s = e - 1;
      if (
        this.hashes[s] === hash &&
        this.partitions[s] === partition &&
        words[s * 4] === a &&
        words[s * 4 + 1] === b &&
        words[s * 4 + 2] === c &&
        words[s * 4 + 3] === d
      )
        return i;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move up, so no tombstones build up. */
  private deleteAt(hole: number): void {
    const table = this.table;
    const mask = table.length - 1;
    table[hole] = EMPTY;
    for (let j = (hole + 1) & mask; table[j] !== EMPTY; j = (j + 1) & mask) {
      const home = (this.hashes[(table[j] as number) - 1] as number) & mask;
      // The entry at j may fill the hole when its home is not cyclically within (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        table[hole] = table[j] as number;
        table[j] = EMPTY;
        hole = j;
      }
    }
  }

  private rehash(size: number): void {
    const old = this.table;
    const table = new Int32Array(size);
    const mask = size - 1;
    for (const e of old) {
      if (e === EMPTY) continue;
      let i = (this.hashes[e - 1] as number) & mask;
      while (table[i] !== EMPTY) i = (i + 1) & mask;
      table[i] = e;
    }
    this.table = table;
  }

  private append(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot] as number;
    const n = this.next[slot] as number;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }

  private grow(capacity: number): void {
    const words = new Uint32Array(capacity * 4);
    words.set(this.words);
    this.words = words;
    const widen = <A extends Int32Array | Uint32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.partitions = widen(this.partitions, (n) => new Int32Array(n));
    this.hashes = widen(this.hashes, (n) => new Uint32Array(n));
    this.kinds = widen(this.kinds, (n) => new Uint8Array(n));
    this.prev = widen(this.prev, (n) => new Int32Array(n));
    this.next = widen(this.next, (n) => new Int32Array(n));
    this.capacity = capacity;
  }
}
