/**
 * Per-client rate limit of the public API: a token bucket per client address that holds one
 * minute's worth of requests and refills continuously. Pure and I/O-free: the caller passes
 * `now`. The table of buckets is bounded (least recently seen client out first), so a flood
 * from many addresses costs memory up to that bound only.
 */

export interface RateLimitOptions {
  /** requests per minute per client; also the burst a quiet client may make at once */
  perMinute: number;
  /** buckets kept at most */
  maxClients?: number;
}

export type RateOutcome = { ok: true; remaining: number } | { ok: false; retryAfterS: number };

const MS_PER_MINUTE = 60_000;
const DEFAULT_MAX_CLIENTS = 50_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;
  /** tokens per ms */
  private readonly rate: number;
  private readonly maxClients: number;

  constructor(o: RateLimitOptions) {
    if (!(o.perMinute >= 1)) throw new Error(`perMinute must be >= 1, got ${o.perMinute}`);
    this.capacity = o.perMinute;
    this.rate = o.perMinute / MS_PER_MINUTE;
    this.maxClients = o.maxClients ?? DEFAULT_MAX_CLIENTS;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token of `client` at time `now` (ms), or says how long until one is there. */
  take(client: string, now: number): RateOutcome {
    const b = this.buckets.get(client) ?? { tokens: this.capacity, at: now };
    // A clock that steps back refills nothing (and takes nothing away).
    const at = Math.max(b.at, now);
    const tokens = Math.min(this.capacity, b.tokens + (at - b.at) * this.rate);
    this.buckets.delete(client);
    if (tokens >= 1) {
      this.buckets.set(client, { tokens: tokens - 1, at });
      this.evict();
      return { ok: true, remaining: Math.floor(tokens - 1) };
    }
    this.buckets.set(client, { tokens, at });
    this.evict();
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / this.rate / 1000)) };
  }

  private evict(): void {
    while (this.buckets.size > this.maxClients) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}

/**
 * The key of a client address: IPv4 as is (also when written as IPv4-mapped IPv6), IPv6 by its
 * /64 network, since one host commonly holds a whole /64 and could otherwise take a fresh bucket
 * per request.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1] ?? address;
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address.split('%')[0] ?? '');
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/** The eight groups of an IPv6 address (lower case, no leading zeros), or null if it is not one. */
function expandIpv6(a: string): string[] | null {
  const halves = a.toLowerCase().split('::');
  if (halves.length > 2) return null;
  const part = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.map((g) => g.replace(/^0+(?=.)/, ''));
}
