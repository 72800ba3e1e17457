// Counts records Kafka acknowledged into relay_published_total, by topic.
import type { RelayMetrics } from './metrics.js';
import type { RelayRecord } from './records.js';

/** Counts records Kafka acknowledged, by topic (shared by delivery and the spool's replayer). */
export function countPublished(metrics: RelayMetrics, records: readonly RelayRecord[]): void {
  const byTopic = new Map<string, number>();
  for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
  for (const [topic, n] of byTopic) metrics.published.inc({ topic }, n);
}
