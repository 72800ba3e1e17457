import type { Producer } from 'kafkajs';
import type { Metrics } from '@parsl-usage/common';
import type { RejectedMessage } from './processor.js';

export type PublishRejected = (rejected: RejectedMessage[]) => Promise<void>;

/**
 * Publishes messages the aggregator cannot use (decode rejections and rows ClickHouse
 * refused) to the rejected topic, with their reason, detail and source coordinates, and counts
 * them by reason. At least once: a replay after a crash may publish a rejection again.
 */
export function createRejectedPublisher(deps: {
  producer: Pick<Producer, 'send'>;
  rejectedTopic: string;
  rawTopic: string;
  metrics: Metrics;
}): PublishRejected {
  return async (rejected) => {
    if (rejected.length === 0) return;
    await deps.producer.send({
      topic: deps.rejectedTopic,
      acks: -1,
      messages: rejected.map((r) => ({
        key: null,
        value: r.value,
        headers: {
          reason: r.reason,
          detail: r.detail,
          stage: 'aggregator',
          source_topic: deps.rawTopic,
          source_partition: String(r.partition),
          source_offset: r.offset,
          source_index: String(r.index),
        },
      })),
    });
    for (const r of rejected)
      deps.metrics.inc('aggregator_rejected_total', 'messages that failed to decode', 1, {
        reason: r.reason,
      });
  };
}
