// The on-disk spool: append-only, checksummed segment files, read back oldest first.
import { mkdir, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { SpoolError } from './errors.js';
import type { RelayRecord } from './records.js';

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
