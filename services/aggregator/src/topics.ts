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

/** Creates missing topics; existing topics are left as they are (partition counts never shrink). */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.numPartitions,
      replicationFactor: 1,
      configEntries: [{ name: 'retention.ms', value: String(s.retentionMs) }],
    })),
  });
  return missing.map((s) => s.topic);
}
