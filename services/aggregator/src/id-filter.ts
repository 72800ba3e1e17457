/**
 * A Bloom filter over every workflow id ClickHouse holds, so that a batch asks ClickHouse only
 * about ids it may already know. Without it every new launch costs a `workflow_versions FINAL`
 * look-up, and those read most of the table once it is large (3-7 s per batch at 5M
 * workflows, BENCHMARKS.md): nearly every id is new, so nearly every look-up finds nothing.
 *
 * Exactness rests on one rule: an id that is stored is never reported absent. The filter only
 * grows (ids are added before their rows are inserted, and a rebuild is OR-ed into the bits
 * already set), so a false answer is only ever "maybe present", which costs a look-up and
 * nothing else. Past its capacity it grows less selective, never wrong.
 */
import { hashableId, murmur2, murmur3 } from './id-hash.js';

export interface IdFilterOptions {
  /** ids the filter is sized for at a 1 % false-positive rate */
  capacity: number;
}

const BITS_PER_ID = 9.6; // 1 % false positives with 7 hashes
const HASHES = 7;

export class IdFilter {
  readonly bits: number;
  private readonly words: Uint32Array;
  private setBits = 0;

  constructor(opts: IdFilterOptions) {
    const words = Math.max(1, Math.ceil((opts.capacity * BITS_PER_ID) / 32));
    this.words = new Uint32Array(words);
    this.bits = words * 32;
  }

  add(id: string): void {
    // An id the hashes do not cover is always "maybe present" (mightContain): nothing to set.
    if (hashableId(id)) this.addHashes(murmur3(id), murmur2(id));
  }

  /** Adds an id by its two hashes, as ClickHouse computes them (ID_HASHES_SQL). */
  addHashes(h1: number, h2raw: number): void {
    const h2 = (h2raw | 1) >>> 0; // odd, so that the probes differ
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % this.bits;
      const w = bit >>> 5;
      const mask = 1 << (bit & 31);
      const word = this.words[w] as number;
      if ((word & mask) === 0) {
        this.words[w] = word | mask;
        this.setBits++;
      }
    }
  }

  /** false: the id was never added. true: it may have been. */
  mightContain(id: string): boolean {
    if (!hashableId(id)) return true;
    const h1 = murmur3(id);
    const h2 = (murmur2(id) | 1) >>> 0;
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % this.bits;
      if (((this.words[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** Adds every id the other filter holds; both must have the same size. */
  union(other: IdFilter): void {
    if (other.bits !== this.bits)
      throw new Error(`cannot union filters of ${this.bits} and ${other.bits} bits`);
    let set = 0;
    for (let i = 0; i < this.words.length; i++) {
      const w = ((this.words[i] as number) | (other.words[i] as number)) >>> 0;
      this.words[i] = w;
      set += popcount(w);
    }
    this.setBits = set;
  }

  /** Share of bits set: 0.5 at capacity; above it the false-positive rate climbs fast. */
  get fill(): number {
    return this.setBits / this.bits;
  }

  /** Expected share of absent ids reported as maybe present. */
  get falsePositiveRate(): number {
    return this.fill ** HASHES;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
