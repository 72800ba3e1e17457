-- Format 3 of the raw topic (schemas/src/envelope.ts) packs several datagrams into one Kafka
-- record, so a message's key in `events` is its partition, its offset and its index in the
-- record (0 for every record written before, and for every record that is not a pack). The
-- column is added with no default, so it may join the sorting key in the same ALTER: existing
-- rows read 0, and their order is unchanged.
ALTER TABLE ${db}.events
    ADD COLUMN kafka_index UInt16 AFTER kafka_offset,
    MODIFY ORDER BY (kafka_partition, kafka_offset, kafka_index);
