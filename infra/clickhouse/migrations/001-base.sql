-- Base tables. `${db}` is replaced by the migration runner (parsl_usage in production,
-- a fresh name per integration test). Every statement is idempotent and runs on
-- ClickHouse 18.16 and 24.8+.

CREATE DATABASE IF NOT EXISTS ${db};

-- The change log: every time a workflow's facts change, the aggregator inserts the
-- retraction of its previous version (sign = -1) and its new version (sign = +1).
-- It is the only table the aggregator inserts into, once per partition per flush,
-- and it is the sink's record of consumed offsets (max(kafka_offset) per partition).
CREATE TABLE IF NOT EXISTS ${db}.workflow_changes
(
    workflow_id String,
    sign Int8,
    version UInt64,
    status Enum8('launched' = 1, 'running' = 2, 'completed' = 3, 'closure_only' = 4),
    protocol Enum8('v1' = 1, 'legacy' = 2),
    tracking_level UInt8,
    parsl_version String,
    parsl_release_date Date,
    install_age_days Int32,
    python_version String,
    python_minor String,
    platform String,
    os_release String,
    project_name String,
    is_test UInt8,
    executors Array(String),
    providers Array(String),
    launchers Array(String),
    other_components Array(String),
    executors_len UInt16,
    dependency_resolver UInt8,
    mpi UInt8,
    app_count UInt64,
    app_fails UInt64,
    has_launch UInt8,
    has_closure UInt8,
    day Date,
    launch_received_at DateTime,
    closure_received_at DateTime,
    start_time DateTime,
    end_time DateTime,
    execution_time Float64,
    points UInt8,
    kafka_partition UInt16,
    kafka_offset UInt64,
    seq UInt16,
    inserted_at DateTime DEFAULT now()
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (kafka_partition, kafka_offset, seq);

-- Every version of every workflow's facts; the latest (+1) version wins on merge. Analysts
-- read the `workflows` view (004), which does the FINAL for them.
CREATE TABLE IF NOT EXISTS ${db}.workflow_versions
(
    workflow_id String,
    version UInt64,
    status Enum8('launched' = 1, 'running' = 2, 'completed' = 3, 'closure_only' = 4),
    protocol Enum8('v1' = 1, 'legacy' = 2),
    tracking_level UInt8,
    parsl_version String,
    parsl_release_date Date,
    install_age_days Int32,
    python_version String,
    python_minor String,
    platform String,
    os_release String,
    project_name String,
    is_test UInt8,
    executors Array(String),
    providers Array(String),
    launchers Array(String),
    other_components Array(String),
    executors_len UInt16,
    dependency_resolver UInt8,
    mpi UInt8,
    app_count UInt64,
    app_fails UInt64,
    has_launch UInt8,
    has_closure UInt8,
    day Date,
    launch_received_at DateTime,
    closure_received_at DateTime,
    start_time DateTime,
    end_time DateTime,
    execution_time Float64,
    points UInt8,
    kafka_partition UInt16,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY workflow_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.workflow_versions_mv TO ${db}.workflow_versions AS
SELECT
    workflow_id, version, status, protocol, tracking_level, parsl_version, parsl_release_date,
    install_age_days, python_version, python_minor, platform, os_release, project_name, is_test,
    executors, providers, launchers, other_components, executors_len, dependency_resolver, mpi,
    app_count, app_fails, has_launch, has_closure, day, launch_received_at, closure_received_at,
    start_time, end_time, execution_time, points, kafka_partition, kafka_offset
FROM ${db}.workflow_changes
WHERE sign = 1;

-- Every decoded message with its Kafka coordinates and its exact bytes: the audit trail, and
-- what `reprocess` rebuilds everything else from after a change to normalisation. Written
-- before the change rows of the same batch; (kafka_partition, kafka_offset) is its key, and
-- the aggregator skips offsets it already holds, so a replay adds no duplicate.
CREATE TABLE IF NOT EXISTS ${db}.events
(
    kafka_partition UInt16,
    kafka_offset UInt64,
    received_at DateTime,
    workflow_id String,
    phase Enum8('launch' = 1, 'closure' = 2),
    protocol Enum8('v1' = 1, 'legacy' = 2),
    tracking_level UInt8,
    parsl_version String,
    python_version String,
    platform String,
    project_name String,
    raw String,
    inserted_at DateTime
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (kafka_partition, kafka_offset);
