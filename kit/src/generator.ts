/**
 * The soak's load generator and its ledger (the ground truth).
 *
 * Every workflow is one of the real datagram shapes in schemas/fixtures (Parsl 2025.03.17 at
 * tracking levels 1-3, 2024.06.03 before tracking levels, and three legacy generations), with
 * the fixture's id swapped for a fresh 36-character one. Two-datagram runs send the closure
 * 0.5-5 s after the launch (5 % in reverse order, as UDP may deliver them). On top: 1 % garbage
 * of known rejection reasons, 1 % duplicates of recent datagrams, and one probe workflow every
 * `probeIntervalMs` whose send time is kept for the freshness measurement.
 *
 * Datagrams go round-robin from sockets bound to 127.0.0.2 ... 127.0.0.254 (all of 127/8 is
 * loopback on Linux), so that the relay's per-source limit (50/s, burst 200) is not what is
 * measured: at 5,000/s each of 253 sources sends about 20/s. Only loopback is ever addressed.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const fixture = (p: string): string =>
  readFileSync(new URL(`../../schemas/fixtures/${p}`, import.meta.url), 'latin1');

export type Status = 'launched' | 'running' | 'completed' | 'closure_only';

/** One kind of run: which datagrams it sends and what each must add up to. */
export interface Kind {
  name: string;
  weight: number;
  protocol: 'v1' | 'legacy';
  launch: [Buffer, Buffer] | null;
  closure: [Buffer, Buffer] | null;
  /** A launch of this kind expects a closure (level 3 and everything before tracking levels). */
  expectsClosure: boolean;
  /** Leaderboard points once the launch is in: level 3 = 2, else 1. */
  launchPoints: number;
  closureApps: number;
  closureFails: number;
}

function template(text: string, id: string): [Buffer, Buffer] {
  const at = text.indexOf(id);
  if (at < 0 || text.indexOf(id, at + 1) >= 0) throw new Error(`fixture id ${id} must occur once`);
  return [Buffer.from(text.slice(0, at), 'latin1'), Buffer.from(text.slice(at + id.length), 'latin1')];
}

function loadKinds(): Kind[] {
  const v25 = '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a0';
  const l1 = template(fixture('parsl-2025.03.17/level1-launch.bin'), `${v25}1`);
  const l2 = template(fixture('parsl-2025.03.17/level2-launch.bin'), `${v25}2`);
  const l3 = template(fixture('parsl-2025.03.17/level3-launch.bin'), `${v25}3`);
  const l3c = template(fixture('parsl-2025.03.17/level3-closure.bin'), `${v25}3`);
  const v24id = '8d0e2b7a-4a61-4f0c-b2b4-6a0c9e2f0a00';
  const v24 = template(fixture('parsl-2024.06.03/launch.bin'), v24id);
  const v24c = template(fixture('parsl-2024.06.03/closure.bin'), v24id);
  const legacy = (file: string, id: string): [[Buffer, Buffer], [Buffer, Buffer]] => [
    template(fixture(`legacy/${file}-launch.bin`), id),
    template(fixture(`legacy/${file}-closure.bin`), id),
  ];
  const [g18, g18c] = legacy('2018', '0b5f0c4e-6a3e-4f3b-9d0e-3c1f6b2a2018');
  const [g23, g23c] = legacy('2023.04.17', 'a6f1e0d2-93b4-4c1e-8f57-2b0c1d9e2304');
  const [g24, g24c] = legacy('2024.03.18', 'c3d2a1b0-5e6f-4a7b-8c9d-0e1f2a3b2403');
  const k = (
    name: string,
    weight: number,
    protocol: Kind['protocol'],
    launch: Kind['launch'],
    closure: Kind['closure'],
    expectsClosure: boolean,
    launchPoints: number,
    closureApps: number,
    closureFails: number,
  ): Kind => ({
    name,
    weight,
    protocol,
    launch,
    closure,
    expectsClosure,
    launchPoints,
    closureApps,
    closureFails,
  });
  // App counts are the fixtures' own: DataFlowKernel app_count/app_fails, legacy t_apps/failed.
  return [
    k('v1-2025.03.17-level1', 0.25, 'v1', l1, null, false, 1, 0, 0),
    k('v1-2025.03.17-level2', 0.15, 'v1', l2, null, false, 1, 0, 0),
    k('v1-2025.03.17-level3', 0.3, 'v1', l3, l3c, true, 2, 3, 1),
    k('v1-2025.03.17-level3-no-closure', 0.03, 'v1', l3, null, true, 2, 0, 0),
    k('v1-2025.03.17-closure-only', 0.02, 'v1', null, l3c, true, 2, 3, 1),
    k('v1-2024.06.03', 0.1, 'v1', v24, v24c, true, 1, 3, 1),
    k('legacy-2018', 0.05, 'legacy', g18, g18c, true, 1, 10, 0),
    k('legacy-2023.04.17', 0.05, 'legacy', g23, g23c, true, 1, 25, 3),
    k('legacy-2024.03.18', 0.05, 'legacy', g24, g24c, true, 1, 7, 0),
  ];
}

export const KINDS = loadKinds();
export const PROBE_KIND = 0; // probes are level-1 launches: one datagram, visible as 'launched'
export const FLOOD_KIND = 0;

const LAUNCH = 1;
const CLOSURE = 2;

/** What a workflow must look like in ClickHouse, given which of its datagrams arrived. */
export function expectedOf(
  kind: Kind,
  bits: number,
): { status: Status; points: number; apps: number; fails: number } | null {
  const hasL = (bits & LAUNCH) !== 0 && kind.launch !== null;
  const hasC = (bits & CLOSURE) !== 0 && kind.closure !== null;
  if (hasL && hasC)
    return {
      status: 'completed',
      points: kind.launchPoints,
      apps: kind.closureApps,
      fails: kind.closureFails,
    };
  if (hasL)
    return {
      status: kind.expectsClosure ? 'running' : 'launched',
      points: kind.launchPoints,
      apps: 0,
      fails: 0,
    };
  // A closure alone carries no tracking level: tracking_level 0 is worth 1 point.
  if (hasC) return { status: 'closure_only', points: 1, apps: kind.closureApps, fails: kind.closureFails };
  return null;
}

/** Garbage with the reason each must be rejected for, and by which stage. */
const GARBAGE: Array<{ reason: string; stage: 'relay' | 'aggregator'; make: (id: string) => Buffer }> = [
  { reason: 'bad_prefix', stage: 'relay', make: () => Buffer.from('GET / HTTP/1.0\r\n\r\n') },
  { reason: 'bad_json', stage: 'relay', make: (id) => Buffer.from(`1{"correlator": "${id}", `) },
  { reason: 'not_object', stage: 'relay', make: () => Buffer.from('1[1, 2, 3]') },
  {
    reason: 'no_id',
    stage: 'relay',
    make: () => Buffer.from('1{"parsl_v": "2025.03.17", "tracking_level": 1}'),
  },
  { reason: 'empty', stage: 'relay', make: () => Buffer.alloc(0) },
  // Passes the relay's sniff (protocol, JSON, id) but is neither a launch nor a closure.
  { reason: 'unknown_phase', stage: 'aggregator', make: (id) => Buffer.from(`1{"correlator": "${id}"}`) },
];

/** Id namespaces: the second group of the 36-character id tells what a key in Kafka was. */
export const NS = { workflow: '0000', probe: 'b0be', flood: 'f100', garbage: 'dead' } as const;

export interface GeneratorOptions {
  host?: string;
  port: number;
  /** datagrams/s, everything included */
  rate: number;
  durationMs: number;
  garbageFraction?: number;
  duplicateFraction?: number;
  probeIntervalMs?: number;
  /** number of source addresses 127.0.0.2 ... (at most 253) */
  sources?: number;
  /** Extra: one source (127.0.0.1) sending valid level-1 launches at this rate, datagrams/s. */
  floodRate?: number;
  /** The generator asks before every tick; a false stops it early (tests' safety net). */
  keepGoing?: () => boolean;
}

export interface Ledger {
  tag: string;
  /** workflow id → kind index * 4 + bits of the datagrams sent (1 launch, 2 closure) */
  workflows: Map<string, number>;
  /** flood ids sent (all level-1 launches); how many the relay let through is its business */
  floodIds: Set<string>;
  sent: {
    total: number;
    valid: number;
    duplicates: number;
    garbage: number;
    probes: number;
    flood: number;
    errors: number;
  };
  garbageByReason: Map<string, { stage: 'relay' | 'aggregator'; n: number }>;
  /** probe id → send time, ms */
  probes: Map<string, number>;
  startedAt: number;
  endedAt: number;
}

export function newLedger(): Ledger {
  return {
    tag: randomBytes(4).toString('hex'),
    workflows: new Map(),
    floodIds: new Set(),
    sent: { total: 0, valid: 0, duplicates: 0, garbage: 0, probes: 0, flood: 0, errors: 0 },
    garbageByReason: new Map(),
    probes: new Map(),
    startedAt: 0,
    endedAt: 0,
  };
}

export function decodeCode(code: number): { kind: Kind; bits: number } {
  return { kind: KINDS[code >> 2]!, bits: code & 3 };
}

interface Due {
  id: string;
  kindIndex: number;
  bit: number;
}

/** Sends the soak's traffic; resolves when the duration and every scheduled second datagram are done. */
export async function runGenerator(opts: GeneratorOptions, ledger: Ledger): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error('the soak only ever sends to loopback');
  const nSources = Math.min(253, Math.max(1, opts.sources ?? 253));
  const garbageFraction = opts.garbageFraction ?? 0.01;
  const duplicateFraction = opts.duplicateFraction ?? 0.01;
  const probeIntervalMs = opts.probeIntervalMs ?? 500;
  const sockets: Socket[] = [];
  for (let i = 0; i < nSources; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: `127.0.0.${i + 2}`, port: 0 }, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => (ledger.sent.errors += 1));
    sockets.push(s);
  }
  let floodSocket: Socket | undefined;
  if ((opts.floodRate ?? 0) > 0) {
    floodSocket = createSocket('udp4');
    const fs = floodSocket;
    await new Promise<void>((resolve) => fs.bind({ address: '127.0.0.1', port: 0 }, () => resolve()));
  }

  let seq = 0;
  // Parsl's ids are uuid4s: random order, which is what ClickHouse's primary-key look-ups see.
  // A bijective 32-bit mix of a counter gives that order with no chance of a collision.
  const mix = (x: number): number => {
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    return (x ^ (x >>> 16)) >>> 0;
  };
  const newId = (ns: string): string =>
    `${ledger.tag}-${ns}-4000-8000-${mix(seq++).toString(16).padStart(8, '0')}0000`;
  let rr = 0;
  const send = (buf: Buffer): void => {
    const s = sockets[rr++ % sockets.length]!;
    ledger.sent.total += 1;
    s.send(buf, opts.port, host, (err) => {
      if (err) ledger.sent.errors += 1;
    });
  };
  const recent: Buffer[] = []; // ring of recent valid datagrams, for duplicates
  let recentAt = 0;
  const remember = (b: Buffer): void => {
    if (recent.length < 4_096) recent.push(b);
    else recent[recentAt++ % 4_096] = b;
  };
  const build = (id: string, t: [Buffer, Buffer]): Buffer => Buffer.concat([t[0], Buffer.from(id), t[1]]);
  const sendPart = (id: string, kindIndex: number, bit: number): void => {
    const kind = KINDS[kindIndex]!;
    const t = bit === LAUNCH ? kind.launch : kind.closure;
    if (t === null) return;
    const buf = build(id, t);
    ledger.workflows.set(id, ((ledger.workflows.get(id) ?? kindIndex << 2) | bit) >>> 0);
    ledger.sent.valid += 1;
    send(buf);
    remember(buf);
  };

  // Second datagrams, bucketed by 100 ms slot of their due time.
  const due = new Map<number, Due[]>();
  let dueCount = 0;
  const schedule = (atMs: number, d: Due): void => {
    const slot = Math.floor(atMs / 100);
    let list = due.get(slot);
    if (!list) due.set(slot, (list = []));
    list.push(d);
    dueCount += 1;
  };
  const cumulative: number[] = [];
  KINDS.reduce((acc, k, i) => (cumulative[i] = acc + k.weight), 0);
  const totalWeight = cumulative[cumulative.length - 1]!;
  const pickKind = (): number => {
    const r = Math.random() * totalWeight;
    const i = cumulative.findIndex((c) => r < c);
    return i < 0 ? KINDS.length - 1 : i;
  };

  const start = Date.now();
  ledger.startedAt = start;
  const end = start + opts.durationMs;
  let nextProbe = start;
  let floodSent = 0;
  let lastSlot = Math.floor(start / 100) - 1;
  // Everything still scheduled when the duration ends is sent in the next few seconds.
  const hardStop = end + 10_000;
  for (;;) {
    const now = Date.now();
    if (now >= hardStop || (opts.keepGoing && !opts.keepGoing())) break;
    const slot = Math.floor(now / 100);
    for (let s = lastSlot + 1; s <= slot; s++) {
      const list = due.get(s);
      if (!list) continue;
      due.delete(s);
      for (const d of list) sendPart(d.id, d.kindIndex, d.bit);
      dueCount -= list.length;
    }
    lastSlot = slot;
    if (now < end) {
      if (now >= nextProbe) {
        const id = newId(NS.probe);
        ledger.probes.set(id, Date.now());
        ledger.sent.probes += 1;
        sendPart(id, PROBE_KIND, LAUNCH);
        nextProbe += probeIntervalMs;
      }
      const target = Math.floor(((now - start) * opts.rate) / 1000);
      while (ledger.sent.total - ledger.sent.flood < target) {
        const r = Math.random();
        if (r < garbageFraction) {
          const g = GARBAGE[ledger.sent.garbage % GARBAGE.length]!;
          ledger.sent.garbage += 1;
          const e = ledger.garbageByReason.get(g.reason) ?? { stage: g.stage, n: 0 };
          e.n += 1;
          ledger.garbageByReason.set(g.reason, e);
          send(g.make(newId(NS.garbage)));
        } else if (r < garbageFraction + duplicateFraction && recent.length > 0) {
          ledger.sent.duplicates += 1;
          send(recent[Math.floor(Math.random() * recent.length)]!);
        } else {
          const kindIndex = pickKind();
          const kind = KINDS[kindIndex]!;
          const id = newId(NS.workflow);
          const delay = 500 + Math.random() * 4_500;
          if (kind.launch && kind.closure && Math.random() < 0.05) {
            sendPart(id, kindIndex, CLOSURE);
            schedule(now + delay, { id, kindIndex, bit: LAUNCH });
          } else if (kind.launch) {
            sendPart(id, kindIndex, LAUNCH);
            if (kind.closure) schedule(now + delay, { id, kindIndex, bit: CLOSURE });
          } else {
            sendPart(id, kindIndex, CLOSURE);
          }
        }
      }
      if (floodSocket && opts.floodRate) {
        const floodTarget = Math.floor(((now - start) * opts.floodRate) / 1000);
        while (floodSent < floodTarget) {
          const id = newId(NS.flood);
          ledger.floodIds.add(id);
          floodSent += 1;
          ledger.sent.flood += 1;
          ledger.sent.total += 1;
          floodSocket.send(build(id, KINDS[FLOOD_KIND]!.launch!), opts.port, host, (err) => {
            if (err) ledger.sent.errors += 1;
          });
        }
      }
    } else if (dueCount === 0) {
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  ledger.endedAt = Date.now();
  // Let the last sends leave before the sockets close.
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all(
    [...sockets, ...(floodSocket ? [floodSocket] : [])].map(
      (s) => new Promise<void>((r) => s.close(() => r())),
    ),
  );
}
