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

const BITS_PER_ID = 10; // about 1 % false positives with 7 probes in 512-bit blocks
const HASHES = 7;
const BLOCK_WORDS = 16; // 512 bits: one 64-byte cache line

/**
 * Blocked: all 7 probes of an id fall in one 512-bit block, so an add or a look-up touches one
 * cache line instead of seven. A rebuild adds every stored id; at 10M workflows the seven
 * scattered misses per id cost 5.3 s of a rebalance, one miss about a seventh of that
 * (bench/aggregator/rebalance.ts, BENCHMARKS.md). The price is a slightly higher
 * false-positive rate at the same size, paid for with 10 bits per id instead of 9.6.
 */
export class IdFilter {
  readonly bits: number;
  private readonly words: Uint32Array;
  private readonly blocks: number;
  /** bits set; -1 when adds happened since it was last counted */
  private setBits = 0;

  constructor(opts: IdFilterOptions) {
    this.blocks = Math.max(1, Math.ceil((opts.capacity * BITS_PER_ID) / (BLOCK_WORDS * 32)));
    this.words = new Uint32Array(this.blocks * BLOCK_WORDS);
    this.bits = this.words.length * 32;
  }

  add(id: string): void {
    // An id the hashes do not cover is always "maybe present" (mightContain): nothing to set.
    if (hashableId(id)) this.addHashes(murmur3(id), murmur2(id));
  }

  /** Adds an id by its two hashes, as ClickHouse computes them (ID_HASHES_SQL). */
  addHashes(h1: number, h2: number): void {
    const base = this.blockOf(h1);
    const step = ((h1 >>> 16) ^ (h2 >>> 9)) | 1; // odd, so that the probes differ
    const words = this.words;
    for (let i = 0; i < HASHES; i++) {
      const bit = (h2 + i * step) & 511;
      const w = base + (bit >>> 5);
      words[w] = (words[w] as number) | (1 << (bit & 31));
    }
    this.setBits = -1; // counted again when asked (fill)
  }

  /** false: the id was never added. true: it may have been. */
  mightContain(id: string): boolean {
    if (!hashableId(id)) return true;
    const h1 = murmur3(id);
    const h2 = murmur2(id);
    const base = this.blockOf(h1);
    const step = ((h1 >>> 16) ^ (h2 >>> 9)) | 1;
    for (let i = 0; i < HASHES; i++) {
      const bit = (h2 + i * step) & 511;
      if (((this.words[base + (bit >>> 5)] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** The first word of h1's block: multiply-shift, cheaper than a modulo of a double. */
  private blockOf(h1: number): number {
    return Math.floor((h1 * this.blocks) / 4_294_967_296) * BLOCK_WORDS;
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
    if (this.setBits < 0) {
      let set = 0;
      for (const w of this.words) set += popcount(w);
      this.setBits = set;
    }
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
