import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  retentionMs: number;
}

const DAY_MS = 86_400_000;

/** The pipeline's topics. Raw keeps 30 days so that a whole partition can be replayed after a bad deploy. */
export function pipelineTopics(names: { raw: string; rejected: string }, rawPartitions = 6): TopicSpec[] {
  return [
    { topic: names.raw, numPartitions: rawPartitions, retentionMs: 30 * DAY_MS },
    { topic: names.rejected, numPartitions: 1, retentionMs: 30 * DAY_MS },
  ];
}

/** How many brokers hold each partition, and how many must acknowledge a write (acks=all). */
export interface TopicDurability {
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** One broker: the single-node default. */
export const SINGLE_BROKER: TopicDurability = { replicationFactor: 1, minInsyncReplicas: 1 };

/** The create request's per-topic settings; min.insync.replicas is only sent when above the broker's default of 1. */
export function topicConfig(spec: TopicSpec, durability: TopicDurability) {
  return {
    topic: spec.topic,
    numPartitions: spec.numPartitions,
    replicationFactor: durability.replicationFactor,
    configEntries: [
      { name: 'retention.ms', value: String(spec.retentionMs) },
      ...(durability.minInsyncReplicas > 1
        ? [{ name: 'min.insync.replicas', value: String(durability.minInsyncReplicas) }]
        : []),
    ],
  };
}

/**
 * Creates missing topics; existing topics are left as they are (partition counts never shrink,
 * and a topic's replication is changed by reassignment, not here).
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  durability: TopicDurability = SINGLE_BROKER,
): Promise<string[]> {
  // Kafka accepts such a topic and then refuses every acks=all write to it.
  if (durability.minInsyncReplicas > durability.replicationFactor) {
    throw new Error(
      `min.insync.replicas ${durability.minInsyncReplicas} exceeds the replication factor ${durability.replicationFactor}`,
    );
  }
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => topicConfig(s, durability)),
  });
  return missing.map((s) => s.topic);
}
