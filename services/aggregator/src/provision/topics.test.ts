import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { SINGLE_BROKER, pipelineTopics, topicConfig } from './topics.js';

const [raw] = pipelineTopics({ raw: 'parsl.usage.raw', rejected: 'parsl.usage.rejected' }, 6);

describe('topicConfig', () => {
  it.each([
    ['one broker', SINGLE_BROKER, 1, [{ name: 'retention.ms', value: '2592000000' }]],
    [
      'three brokers',
      { replicationFactor: 3, minInsyncReplicas: 2 },
      3,
      [
        { name: 'retention.ms', value: '2592000000' },
        { name: 'min.insync.replicas', value: '2' },
      ],
    ],
    [
      'RF 2, min ISR 1',
      { replicationFactor: 2, minInsyncReplicas: 1 },
      2,
      [{ name: 'retention.ms', value: '2592000000' }],
    ],
  ])('%s', (_what, durability, rf, entries) => {
    expect(topicConfig(raw!, durability)).toEqual({
      topic: 'parsl.usage.raw',
      numPartitions: 6,
      replicationFactor: rf,
      configEntries: entries,
    });
  });
});

// The cluster variables of config.ts (provisioning's inputs), beside the topic settings they feed.
describe('cluster variables', () => {
  it('default to the single-node shape', () => {
    const c = loadConfig({}).provisioning;
    expect([c.CLICKHOUSE_OTHER_REPLICAS, c.KAFKA_REPLICATION_FACTOR, c.KAFKA_MIN_INSYNC_REPLICAS]).toEqual([
      [],
      1,
      1,
    ]);
    expect(c.CLICKHOUSE_ZOOKEEPER_PREFIX).toBe('/clickhouse/tables/{shard}');
  });

  it.each([
    ['http://ch2:8123', ['http://ch2:8123']],
    [' http://ch2:8123 , http://ch3:8123,', ['http://ch2:8123', 'http://ch3:8123']],
  ])('CLICKHOUSE_OTHER_REPLICAS=%j', (value, urls) => {
    expect(loadConfig({ CLICKHOUSE_OTHER_REPLICAS: value }).provisioning.CLICKHOUSE_OTHER_REPLICAS).toEqual(
      urls,
    );
  });

  it.each([
    ['CLICKHOUSE_OTHER_REPLICAS', 'ch2:8123'],
    ['CLICKHOUSE_ZOOKEEPER_PREFIX', "/x'y"],
    ['CLICKHOUSE_ZOOKEEPER_PREFIX', 'relative/path'],
    ['KAFKA_REPLICATION_FACTOR', '0'],
    ['KAFKA_MIN_INSYNC_REPLICAS', 'two'],
  ])('refuses %s=%j', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
