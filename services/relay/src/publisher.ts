// The Kafka side of the relay: publishing batches and reading the topic back.
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaLogCreator } from '@parsl-usage/common';
import { PublishError } from './errors.js';
import { keyHashPartitioner, PartitionCounts } from './partitioner.js';
import { packedMessages, type PackLimits } from './packing.js';
import { TopicReadback } from './readback.js';
import type { RelayRecord } from './records.js';

/** What the batcher and the replayer need from Kafka; the fake in unit tests implements it. */
export interface Publisher {
  /** Resolves once every record is acknowledged by all in-sync replicas; rejects with PublishError. */
  publish(records: readonly RelayRecord[]): Promise<void>;
  /**
   * Which `relay_seq` values among `wanted` are already in `topic`, in records sent at or
   * after `sinceMs`: what a publish that failed without a clear answer did append after all.
   * `settle` is awaited once the partition leaders have answered, before the end offsets that
   * bound the search are taken (TopicReadback). Rejects with a retriable PublishError while
   * Kafka cannot be read, or with what `settle` rejects with.
   */
  findPublished(
    topic: string,
    sinceMs: number,
    wanted: ReadonlySet<string>,
    settle: () => Promise<void>,
  ): Promise<Set<string>>;
  isConnected(): boolean;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Protocol errors that no retry will cure. Anything else (refused connection, timeout, no
 * leader, unknown topic while it is being created) counts as "Kafka unavailable": spool it.
 */
const PERMANENT = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
]);

export function isPermanentKafkaError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && PERMANENT.has(type)) return true;
    // kafkajs chains causes through `originalError`, not the standard `cause`.
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return false;
}

/**
 * The records grouped per topic for sendBatch, packed (packing.ts). A RelayRecord already is a
 * kafkajs Message (key, value, headers; kafkajs ignores `topic`), so one that is not packed is
 * passed as it is: no copy per record.
 */
function byTopic(
  records: readonly RelayRecord[],
  counts: PartitionCounts,
  limits: PackLimits,
): { topic: string; messages: Message[] }[] {
  const groups = new Map<string, RelayRecord[]>();
  for (const r of records) {
    const list = groups.get(r.topic);
    if (list === undefined) groups.set(r.topic, [r]);
    else list.push(r);
  }
  return [...groups].map(([topic, list]) => ({ topic, messages: packedMessages(list, counts.of(topic), limits) }));
}

/** Default pack limits: 256 KiB stays far below Kafka's 1 MiB default record batch limit. */
export const DEFAULT_PACK_LIMITS: PackLimits = { maxDatagrams: 1_000, maxBytes: 256 * 1024 };

export interface KafkaPublisherOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Short by default: an unavailable Kafka should send batches to the spool within seconds. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retries?: number;
  /** how many datagrams one Kafka record carries (packing.ts) */
  pack?: PackLimits;
}

/**
 * acks = -1 (all in-sync replicas) and one request in flight, so launch and closure keep their
 * order. kafkajs does not retry a produce here: its retry re-sends the whole request to a
 * broker after any error in it, appending again the partitions that had succeeded. A failed
 * publish instead goes to the spool marked uncertain, and before the spool replays it the
 * topic is read back (`findPublished`) so that what did land is not sent twice. The kafkajs
 * idempotent producer would not help: it defaults to unbounded retries (a publish would hang
 * instead of failing over to the spool), and a batch replayed from the spool is a new produce
 * with new sequence numbers.
 */
export class KafkaPublisher implements Publisher {
  private readonly producer: Producer;
  private readonly readback: TopicReadback;
  private readonly counts = new PartitionCounts();
  private readonly pack: PackLimits;
  private connected = false;
  private connecting: Promise<void> | undefined;

  constructor(opts: KafkaPublisherOptions) {
    const retry = { retries: opts.retries ?? 2, initialRetryTime: 100, maxRetryTime: 1_000 }; // ms
    const kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: opts.connectionTimeoutMs ?? 1_000, // ms
      requestTimeout: opts.requestTimeoutMs ?? 10_000, // ms
      retry,
      logCreator: kafkaLogCreator(opts.logger),
      logLevel: logLevel.WARN,
    });
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      maxInFlightRequests: 1,
      idempotent: false,
      retry: { ...retry, retries: 0 },
      // kafkajs's DefaultPartitioner, with the key's hash in 32-bit arithmetic (partitioner.ts)
      createPartitioner: keyHashPartitioner(this.counts),
    });
    this.pack = opts.pack ?? DEFAULT_PACK_LIMITS;
    this.readback = new TopicReadback({
      kafka,
      groupPrefix: `${opts.clientId}-readback`,
      logger: opts.logger,
    });
  }

  isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    this.connecting ??= this.producer.connect().then(
      () => {
        this.connected = true;
        this.connecting = undefined;
      },
      (err: unknown) => {
        this.connected = false;
        this.connecting = undefined;
        throw new PublishError('cannot connect to Kafka', { retriable: true, cause: err });
      },
    );
    return this.connecting;
  }

  async publish(records: readonly RelayRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (!this.connected) await this.connect();
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: byTopic(records, this.counts, this.pack) });
    } catch (err) {
      const permanent = isPermanentKafkaError(err);
      // A broker that vanished after connect leaves kafkajs "connected"; health must not say so.
      if (!permanent) this.connected = false;
      throw new PublishError(`Kafka publish failed: ${(err as Error).message}`, {
        retriable: !permanent,
        cause: err,
      });
    }
    this.connected = true;
  }

  findPublished(
    topic: string,
    sinceMs: number,
    wanted: ReadonlySet<string>,
    settle: () => Promise<void>,
  ): Promise<Set<string>> {
    return this.readback.find(topic, sinceMs, wanted, settle);
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.readback.close();
    await this.producer.disconnect();
  }
}
