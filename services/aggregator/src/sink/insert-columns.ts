import type { Column } from './row-binary-writer.js';

/**
 * The columns the aggregator inserts, with their ClickHouse types, in the order RowBinary sends
 * them (row-binary-writer.ts). They must match the migrations (infra/clickhouse/migrations):
 * test/row-binary-insert.test.ts compares them with system.columns of a migrated database.
 */
const PROTOCOL = { enum8: { v1: 1, legacy: 2 } } as const;

export const EVENT_COLUMNS: readonly Column[] = [
  { name: 'kafka_partition', type: 'UInt16' },
  { name: 'kafka_offset', type: 'UInt64' },
  { name: 'kafka_index', type: 'UInt16' },
  { name: 'received_at', type: 'DateTime' },
  { name: 'workflow_id', type: 'String' },
  { name: 'phase', type: { enum8: { launch: 1, closure: 2 } } },
  { name: 'protocol', type: PROTOCOL },
  { name: 'tracking_level', type: 'UInt8' },
  { name: 'parsl_version', type: 'String' },
  { name: 'python_version', type: 'String' },
  { name: 'platform', type: 'String' },
  { name: 'project_name', type: 'String' },
  { name: 'raw', type: 'String' },
  { name: 'inserted_at', type: 'DateTime' },
];

export const CHANGE_COLUMNS: readonly Column[] = [
  { name: 'workflow_id', type: 'String' },
  { name: 'sign', type: 'Int8' },
  { name: 'version', type: 'UInt64' },
  { name: 'status', type: { enum8: { launched: 1, running: 2, completed: 3, closure_only: 4 } } },
  { name: 'protocol', type: PROTOCOL },
  { name: 'tracking_level', type: 'UInt8' },
  { name: 'parsl_version', type: 'String' },
  { name: 'parsl_release_date', type: 'Date' },
  { name: 'install_age_days', type: 'Int32' },
  { name: 'python_version', type: 'String' },
  { name: 'python_minor', type: 'String' },
  { name: 'platform', type: 'String' },
  { name: 'os_release', type: 'String' },
  { name: 'project_name', type: 'String' },
  { name: 'is_test', type: 'UInt8' },
  { name: 'executors', type: 'Array(String)' },
  { name: 'providers', type: 'Array(String)' },
  { name: 'launchers', type: 'Array(String)' },
  { name: 'other_components', type: 'Array(String)' },
  { name: 'executors_len', type: 'UInt16' },
  { name: 'dependency_resolver', type: 'UInt8' },
  { name: 'mpi', type: 'UInt8' },
  { name: 'app_count', type: 'UInt64' },
  { name: 'app_fails', type: 'UInt64' },
  { name: 'has_launch', type: 'UInt8' },
  { name: 'has_closure', type: 'UInt8' },
  { name: 'day', type: 'Date' },
  { name: 'launch_received_at', type: 'DateTime' },
  { name: 'closure_received_at', type: 'DateTime' },
  { name: 'start_time', type: 'DateTime' },
  { name: 'end_time', type: 'DateTime' },
  { name: 'execution_time', type: 'Float64' },
  { name: 'points', type: 'UInt8' },
  { name: 'kafka_partition', type: 'UInt16' },
  { name: 'kafka_offset', type: 'UInt64' },
  { name: 'seq', type: 'UInt16' },
  { name: 'inserted_at', type: 'DateTime' },
];
