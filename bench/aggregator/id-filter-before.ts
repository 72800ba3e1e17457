// The stored-id filter as it was at 550e302 (2026-12-03), kept only as the 'before' of
// bench/aggregator/rebalance.ts: seven scattered probes, FNV-1a hashes of the id's text.
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
    const [h1, h2] = hashes(id);
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
    const [h1, h2] = hashes(id);
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

/** Two independent 32-bit FNV-1a hashes (different offset bases); h2 is odd so probes differ. */
function hashes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a >>> 0, (b | 1) >>> 0];
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
