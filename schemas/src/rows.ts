/**
 * ClickHouse row types. Column names are the SQL names in infra/clickhouse/migrations.
 * Dates are 'YYYY-MM-DD', DateTimes are 'YYYY-MM-DD hh:mm:ss' (UTC): the text forms that
 * ClickHouse 18.16 and current releases both accept in JSONEachRow.
 */

/** status of a workflow row; `unfinished` is derived at query time (see infra/DESIGN.md). */
export type WorkflowStatus = 'launched' | 'running' | 'completed' | 'closure_only';

/** One row of parsl_usage.workflow_changes: a signed contribution of one workflow version. */
export interface WorkflowChangeRow {
  workflow_id: string;
  sign: 1 | -1;
  /** Monotonic per workflow: the Kafka offset of the message that produced this version. */
  version: string;
  status: WorkflowStatus;
  protocol: 'v1' | 'legacy';
  /** 0 = not sent */
  tracking_level: number;
  parsl_version: string;
  /** release date parsed from parsl_version, '1970-01-01' when it is not a date version */
  parsl_release_date: string;
  /** run day minus release day, -1 when unknown */
  install_age_days: number;
  python_version: string;
  python_minor: string;
  platform: string;
  os_release: string;
  project_name: string;
  is_test: number;
  executors: string[];
  providers: string[];
  launchers: string[];
  other_components: string[];
  executors_len: number;
  dependency_resolver: number;
  mpi: number;
  app_count: number;
  app_fails: number;
  has_launch: number;
  has_closure: number;
  /** the run's day: launch receive day, or closure receive day for closure_only */
  day: string;
  launch_received_at: string;
  closure_received_at: string;
  start_time: string;
  end_time: string;
  /** seconds; -1 unknown */
  execution_time: number;
  /** 1 per level-1/2 run, 2 per level-3 run (Parsl's leaderboard rule) */
  points: number;
  kafka_partition: number;
  kafka_offset: string;
  /**
   * order of this row within the record: 2 * index + 0 for a retraction, 2 * index + 1 for the
   * new version, index being the datagram's place in its record (0 unless it is a pack)
   */
  seq: number;
}

/** One row of parsl_usage.events: a decoded message, its coordinates and its exact bytes. */
export interface EventRow {
  kafka_partition: number;
  kafka_offset: string;
  /** the datagram's place in its Kafka record: 0 unless the record is a pack (envelope.ts) */
  kafka_index: number;
  received_at: string;
  workflow_id: string;
  phase: 'launch' | 'closure';
  protocol: 'v1' | 'legacy';
  tracking_level: number;
  parsl_version: string;
  python_version: string;
  platform: string;
  project_name: string;
  /** the datagram as received; JSON text for every accepted generation, so a String column holds it */
  raw: string;
  inserted_at: string;
}
