import { mkdir, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { SpoolError } from './errors.js';
import type { RelayMetrics } from './metrics.js';
import type { Publisher } from './publisher.js';
import { RELAY_SEQ_HEADER, type RelayRecord } from './records.js';

/*
 * On-disk format. A spool directory holds append-only segment files named by a 16-digit
 * sequence number, oldest first, and a LOCK file naming the owning pid. A segment is a run of
 *
 *   u32be payload length | u32be crc32(payload) | payload
 *   payload = u32be meta length | meta (JSON: topic, base64 key or null, headers, and for a
 *             record whose publish failed without a clear answer, the attempt's time) | value
 *
 * Fsync policy: with fsync on (the default), every appended batch is fdatasync'ed before
 * append() resolves, so a machine crash loses at most the batch being written; with it off,
 * the page cache decides. A batch is a few ms of datagrams and the spool is only written while
 * Kafka is down, so the cost is bounded by the batch rate (<= 1000/RELAY_BATCH_MAX_MS per s).
 *
 * A restarted relay never appends to an old segment: a torn tail from a crash stays at the
 * end of its file, where the reader detects it (short record or bad crc) and drops it.
 */
const HEADER_BYTES = 8;
const DEFAULT_SEGMENT_MAX_BYTES = 16 * 1024 * 1024;
const SEGMENT_RE = /^(\d{16})\.seg$/;

/**
 * A spooled record. `doubtSinceMs` is set when a publish of it may have landed although it
 * failed (a timeout, a partial failure, a crash mid-replay): the replayer then reads the topic
 * back from that time before sending it, so it is not appended twice.
 */
export interface SpooledRecord extends RelayRecord {
  doubtSinceMs?: number;
}

export function encodeRecord(r: RelayRecord, doubtSinceMs?: number): Buffer {
  const m: { t: string; k: string | null; h: Record<string, string>; d?: number } = {
    t: r.topic,
    k: r.key === null ? null : r.key.toString('base64'),
    h: r.headers,
  };
  if (doubtSinceMs !== undefined) m.d = doubtSinceMs;
  const meta = Buffer.from(JSON.stringify(m), 'utf8');
  const payload = Buffer.allocUnsafe(4 + meta.length + r.value.length);
  payload.writeUInt32BE(meta.length, 0);
  meta.copy(payload, 4);
  r.value.copy(payload, 4 + meta.length);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/** Decodes records up to the first torn or corrupt one; what follows it is `tornBytes`. */
export function decodeSegment(buf: Buffer): { records: SpooledRecord[]; tornBytes: number } {
  const records: SpooledRecord[] = [];
  let off = 0;
  while (off + HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32BE(off);
    const crc = buf.readUInt32BE(off + 4);
    const end = off + HEADER_BYTES + len;
    if (end > buf.length) break;
    const payload = buf.subarray(off + HEADER_BYTES, end);
    if (crc32(payload) !== crc || len < 4) break;
    const metaLen = payload.readUInt32BE(0);
    if (4 + metaLen > payload.length) break;
    let meta: { t: string; k: string | null; h: Record<string, string>; d?: number };
    try {
      meta = JSON.parse(payload.subarray(4, 4 + metaLen).toString('utf8')) as typeof meta;
    } catch {
      break;
    }
    const record: SpooledRecord = {
      topic: meta.t,
      key: meta.k === null ? null : Buffer.from(meta.k, 'base64'),
      value: Buffer.from(payload.subarray(4 + metaLen)),
      headers: meta.h,
    };
    if (typeof meta.d === 'number') record.doubtSinceMs = meta.d;
    records.push(record);
    off = end;
  }
  return { records, tornBytes: buf.length - off };
}

interface Segment {
  seq: number;
  path: string;
  bytes: number;
  /** Records appended by this run; undefined for a segment an earlier run left (unknown until read). */
  messages: number | undefined;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  fsync: boolean;
  logger: Logger;
  segmentMaxBytes?: number;
}

export type AppendOutcome = { kind: 'ok'; bytes: number } | { kind: 'full'; bytes: number };

export interface SpooledSegment {
  seq: number;
  records: SpooledRecord[];
  tornBytes: number;
  /** Records of an earlier run's segment, reported on its first read in this run (else 0). */
  recovered: number;
  /** Records this run appended that did not decode (corruption after the append). */
  lost: number;
}

export class Spool {
  private readonly segments: Segment[] = [];
  private active: { seg: Segment; fh: FileHandle } | undefined;
  private nextSeq = 0;
  private totalBytes = 0;
  // The oldest segment an earlier run left: its replayer may have published part of it.
  private headAtOpen: number | undefined;
  private writable = true;
  private closed = false;
  // Appends, reads and removals run one at a time, in call order.
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly opts: SpoolOptions) {}

  /** Creates the directory, takes the lock and finds what an earlier run left to replay. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const spool = new Spool(opts);
    await mkdir(opts.dir, { recursive: true });
    await takeLock(opts.dir);
    for (const name of (await readdir(opts.dir)).sort()) {
      const m = SEGMENT_RE.exec(name);
      if (m?.[1] === undefined) continue;
      const path = join(opts.dir, name);
      const { size } = await stat(path);
      const seq = Number(m[1]);
      spool.nextSeq = Math.max(spool.nextSeq, seq + 1);
      if (size === 0) {
        await unlink(path);
        continue;
      }
      spool.segments.push({ seq, path, bytes: size, messages: undefined });
      spool.totalBytes += size;
    }
    spool.headAtOpen = spool.segments[0]?.seq;
    if (spool.segments.length > 0) {
      opts.logger.info(
        { segments: spool.segments.length, bytes: spool.totalBytes },
        'spool holds data from an earlier run; it will be replayed before new datagrams',
      );
    }
    return spool;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  isEmpty(): boolean {
    return this.segments.length === 0;
  }

  isWritable(): boolean {
    return this.writable && !this.closed;
  }

  /** `doubtSinceMs`: the records were just sent in a publish that failed; see SpooledRecord. */
  append(records: readonly RelayRecord[], doubtSinceMs?: number): Promise<AppendOutcome> {
    return this.serial(async () => {
      if (this.closed) throw new SpoolError('spool is closed', { retriable: false });
      const buf = Buffer.concat(records.map((r) => encodeRecord(r, doubtSinceMs)));
      if (this.totalBytes + buf.length > this.opts.maxBytes) return { kind: 'full', bytes: buf.length };
      const segMax = this.opts.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES;
      if (this.active !== undefined && this.active.seg.bytes >= segMax) await this.seal();
      let active: { seg: Segment; fh: FileHandle };
      try {
        active = this.active ?? (await this.openSegment());
      } catch (err) {
        this.writable = false;
        throw new SpoolError('cannot open a spool segment', { retriable: true, cause: err });
      }
      try {
        await active.fh.write(buf, 0, buf.length, null);
        if (this.opts.fsync) await active.fh.datasync();
        active.seg.bytes += buf.length;
        active.seg.messages = (active.seg.messages ?? 0) + records.length;
        this.totalBytes += buf.length;
        this.writable = true;
        return { kind: 'ok', bytes: buf.length };
      } catch (err) {
        this.writable = false;
        // The caller counts the whole batch as dropped, so none of it may be replayed: cut
        // off whatever part reached the file. If even that fails, the reader's crc check
        // stops at the torn record.
        await active.fh.truncate(active.seg.bytes).catch(() => undefined);
        await this.seal().catch(() => undefined);
        throw new SpoolError('spool write failed', { retriable: true, cause: err });
      }
    });
  }

  /** The oldest segment, sealing it first if it is the one being appended to. */
  readOldest(): Promise<SpooledSegment | undefined> {
    return this.serial(async () => {
      const seg = this.segments[0];
      if (seg === undefined) return undefined;
      if (this.active?.seg === seg) await this.seal();
      const { records, tornBytes } = decodeSegment(await readFile(seg.path));
      const recovered = seg.messages === undefined ? records.length : 0;
      const lost = seg.messages === undefined ? 0 : Math.max(0, seg.messages - records.length);
      // From now on this segment's records are counted in this run's accounting.
      seg.messages = records.length;
      if (seg.seq === this.headAtOpen) {
        // An earlier run may have published any of these before it stopped, at any time
        // after each was received.
        for (const r of records) {
          const received = Number(r.headers.received_at_ms);
          const since = Number.isFinite(received) ? received : 0;
          r.doubtSinceMs = Math.min(r.doubtSinceMs ?? since, since);
        }
      }
      return { seq: seg.seq, records, tornBytes, recovered, lost };
    });
  }

  remove(seq: number): Promise<void> {
    return this.serial(async () => {
      const i = this.segments.findIndex((s) => s.seq === seq);
      const seg = this.segments[i];
      if (seg === undefined) return;
      if (this.active?.seg === seg) await this.seal();
      await unlink(seg.path);
      this.segments.splice(i, 1);
      this.totalBytes -= seg.bytes;
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.seal();
      await unlink(join(this.opts.dir, 'LOCK')).catch(() => undefined);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async openSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    const seq = this.nextSeq++;
    const path = join(this.opts.dir, `${String(seq).padStart(16, '0')}.seg`);
    const fh = await open(path, 'a');
    const seg: Segment = { seq, path, bytes: 0, messages: 0 };
    this.segments.push(seg);
    this.active = { seg, fh };
    return this.active;
  }

  private async seal(): Promise<void> {
    const active = this.active;
    if (active === undefined) return;
    this.active = undefined;
    await active.fh.close();
    // After a failed write the in-memory size is a guess; the file is the truth.
    const { size } = await stat(active.seg.path);
    this.totalBytes += size - active.seg.bytes;
    active.seg.bytes = size;
    if (size === 0) {
      await unlink(active.seg.path);
      this.segments.splice(this.segments.indexOf(active.seg), 1);
    }
  }
}

/** One relay per spool directory: two writers would interleave records in one segment. */
async function takeLock(dir: string): Promise<void> {
  const path = join(dir, 'LOCK');
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new SpoolError(`cannot lock spool ${dir}`, { retriable: false, cause: err });
    }
  }
  const owner = Number((await readFile(path, 'utf8')).trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new SpoolError(`spool ${dir} is in use by pid ${owner}`, { retriable: false });
  }
  await writeFile(path, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ReplayerDeps {
  spool: Spool;
  publisher: Publisher;
  metrics: RelayMetrics;
  logger: Logger;
  chunkMaxMessages: number;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * How long a read-back waits, after Kafka answers it, before it takes the end offsets it
   * reads to: a request the client gave up on may still be appended, or replicated, by the
   * broker meanwhile. The publisher's request timeout (10 s) by default.
   */
  settleMs?: number;
  now?: () => number;
}

const DEFAULT_SETTLE_MS = 10_000;

/**
 * Drains the spool into Kafka, oldest segment first, in chunks. A segment is deleted only once
 * every chunk of it is acknowledged. Records whose earlier publish may have landed (it failed
 * without a clear answer, or an earlier run crashed mid-replay) are first looked up in the
 * topic by their `relay_seq` header, and those already there are not sent again: across an
 * outage each record reaches Kafka once. A chunk Kafka can never accept is dropped and
 * counted rather than left to block everything behind it.
 */
export class SpoolReplayer {
  private loop: Promise<void> | undefined;
  private wanted = false;
  private stopped = false;
  // Every sleep in progress (the replay backoff, read-back settles): stop() ends them all.
  private readonly wakers = new Set<() => void>();
  // How far into the head segment this run has published: if removing the segment failed,
  // the next pass resumes there instead of publishing (and counting) those records again.
  private head: { seq: number; pos: number } | undefined;

  constructor(private readonly deps: ReplayerDeps) {}

  /** Called after every append, and at start for what an earlier run left behind. */
  kick(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.loop ??= this.run()
      .catch((err: unknown) => {
        // A spool read or delete failed; the next append kicks the replayer again.
        this.deps.logger.error({ err }, 'spool replay stopped by a spool error');
      })
      .finally(() => {
        this.loop = undefined;
      });
  }

  isRunning(): boolean {
    return this.loop !== undefined;
  }

  /** Stops after the chunk in flight; what is left stays on disk for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { spool, publisher, metrics, logger } = this.deps;
    const now = this.deps.now ?? Date.now;
    const backoff = this.deps.backoff ?? { initialMs: 200, maxMs: 10_000 };
    let delay = backoff.initialMs;
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      while (!this.stopped && !spool.isEmpty()) {
        const seg = await spool.readOldest();
        if (seg === undefined) break;
        if (seg.recovered > 0) {
          metrics.spoolRecovered.inc({}, seg.recovered);
          metrics.spoolMessages.inc(seg.recovered);
        }
        if (seg.lost > 0) {
          metrics.dropped.inc({ reason: 'spool_corrupt' }, seg.lost);
          metrics.spoolMessages.dec(seg.lost);
        }
        if (seg.tornBytes > 0) {
          metrics.spoolTornBytes.inc({}, seg.tornBytes);
          logger.error(
            { seq: seg.seq, tornBytes: seg.tornBytes, lostMessages: seg.lost },
            'spool segment has a torn tail; dropped it',
          );
        }
        let pos = this.head?.seq === seg.seq ? this.head.pos : 0;
        this.head = { seq: seg.seq, pos };
        const { records } = seg;
        // 1 where the record was found in the topic already: it is counted, never re-sent.
        const present = new Uint8Array(records.length);
        let uncertain = records.some((r, i) => i >= pos && r.doubtSinceMs !== undefined);
        while (pos < records.length && !this.stopped) {
          const t0 = now();
          const end = Math.min(pos + this.deps.chunkMaxMessages, records.length);
          const chunk: SpooledRecord[] = [];
          try {
            if (uncertain) {
              await this.lookUp(records, pos, present);
              uncertain = false;
            }
            const skipped: SpooledRecord[] = [];
            for (let i = pos; i < end; i++) {
              const r = records[i];
              if (r !== undefined) (present[i] === 1 ? skipped : chunk).push(r);
            }
            if (chunk.length > 0) await publisher.publish(chunk);
            countPublished(metrics, chunk);
            countPublished(metrics, skipped);
            metrics.spoolAlreadyPublished.inc({}, skipped.length);
            metrics.spoolMessages.dec(end - pos);
            if (chunk.length > 0) metrics.publishLatency.observe((now() - t0) / 1000);
            pos = end;
            this.head.pos = pos;
            delay = backoff.initialMs;
          } catch (err) {
            // Stopped mid read-back: the records keep their doubt on disk (headAtOpen).
            if (this.stopped) break;
            const retriable = (err as { retriable?: unknown }).retriable === true;
            metrics.publishErrors.inc({ retriable: String(retriable) });
            if (!retriable) {
              const inKafka = records.slice(pos, end).filter((_, i) => present[pos + i] === 1);
              countPublished(metrics, inKafka);
              metrics.spoolAlreadyPublished.inc({}, inKafka.length);
              metrics.dropped.inc({ reason: 'publish_rejected' }, end - pos - inKafka.length);
              metrics.spoolMessages.dec(end - pos);
              logger.error(
                { err, messages: end - pos - inKafka.length },
                'Kafka refused spooled messages for good; dropped',
              );
              pos = end;
              this.head.pos = pos;
              continue;
            }
            if (chunk.length > 0) {
              // The failed produce may have appended some of them: look before resending.
              for (const r of chunk) r.doubtSinceMs = Math.min(r.doubtSinceMs ?? t0, t0);
              uncertain = true;
            }
            logger.warn({ err: (err as Error).message, retryInMs: delay }, 'spool replay: Kafka unavailable');
            await this.sleep(delay);
            delay = Math.min(backoff.maxMs, delay * 2);
          }
        }
        if (this.stopped) break;
        await spool.remove(seg.seq);
        if (spool.isEmpty()) logger.info('spool drained');
      }
    }
  }

  /**
   * Marks in `present` the uncertain records from `from` on that the topic already holds, and
   * clears their doubt. Every failed attempt ended before this began, so the read-back's settle
   * (`settleMs` after Kafka answers it) gives each of them that long to land.
   */
  private async lookUp(records: SpooledRecord[], from: number, present: Uint8Array): Promise<void> {
    const now = this.deps.now ?? Date.now;
    const byTopic = new Map<string, { sinceMs: number; wanted: Set<string> }>();
    for (let i = from; i < records.length; i++) {
      const r = records[i];
      if (r?.doubtSinceMs === undefined) continue;
      // Spooled by a relay version that did not number its records: nothing to match on, so
      // such a record is sent again (at least once, as before).
      const seq = r.headers[RELAY_SEQ_HEADER];
      if (seq === undefined) continue;
      let t = byTopic.get(r.topic);
      if (t === undefined) byTopic.set(r.topic, (t = { sinceMs: Infinity, wanted: new Set() }));
      t.sinceMs = Math.min(t.sinceMs, r.doubtSinceMs);
      t.wanted.add(seq);
    }
    const settle = async (): Promise<void> => {
      await this.sleep(this.deps.settleMs ?? DEFAULT_SETTLE_MS);
      if (this.stopped) throw new SpoolError('replayer stopped', { retriable: true });
    };
    // The topics (raw and rejected, as a rule) are read back side by side: their settles overlap.
    const outcomes = await Promise.allSettled(
      [...byTopic].map(async ([topic, t]) => {
        const t0 = now();
        const seqs = await this.deps.publisher.findPublished(topic, t.sinceMs, t.wanted, settle);
        this.deps.metrics.readbackLatency.observe((now() - t0) / 1000);
        return [topic, seqs] as const;
      }),
    );
    const found = new Map<string, Set<string>>();
    let failure: { reason: unknown } | undefined;
    for (const o of outcomes) {
      if (o.status === 'fulfilled') {
        found.set(o.value[0], o.value[1]);
        this.deps.metrics.readbacks.inc({ outcome: 'ok' });
      } else {
        failure ??= o;
        if (!this.stopped) this.deps.metrics.readbacks.inc({ outcome: 'failed' });
      }
    }
    if (failure !== undefined) throw failure.reason;
    let hits = 0;
    for (let i = from; i < records.length; i++) {
      const r = records[i];
      if (r?.doubtSinceMs === undefined) continue;
      const seq = r.headers[RELAY_SEQ_HEADER];
      if (seq !== undefined && found.get(r.topic)?.has(seq) === true) {
        present[i] = 1;
        hits++;
      }
      delete r.doubtSinceMs;
    }
    this.deps.logger.info(
      { uncertain: [...byTopic.values()].reduce((n, t) => n + t.wanted.size, 0), alreadyInKafka: hits },
      'spool replay: checked uncertain records against the topic',
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const wakers = this.wakers;
      function done(): void {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });
  }
}

export function countPublished(metrics: RelayMetrics, records: readonly RelayRecord[]): void {
  const byTopic = new Map<string, number>();
  for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
  for (const [topic, n] of byTopic) metrics.published.inc({ topic }, n);
}
