-- The analyst contract: `workflows` is exactly one row per workflow id when queried plainly,
-- with the derived status ('unfinished' = a run that expects a closure and has not had one
-- for longer than the 7-day join window). Facts that a run never reported are NULL.
-- Runs on 18.16 and 24.8+ (FINAL inside a view; Nullable via if(..., NULL)).
CREATE VIEW IF NOT EXISTS ${db}.workflows AS
SELECT
    workflow_id,
    protocol,
    tracking_level,
    parsl_version,
    parsl_release_date,
    install_age_days,
    python_version,
    python_minor,
    platform,
    os_release,
    project_name,
    is_test,
    executors,
    providers,
    launchers,
    arrayConcat(executors, providers, launchers, other_components) AS components,
    executors_len AS executors_count,
    dependency_resolver,
    mpi,
    if(has_launch = 1, if(start_time > toDateTime(0), start_time, launch_received_at), NULL) AS started_at,
    if(has_closure = 1, if(end_time > toDateTime(0), end_time, closure_received_at), NULL) AS ended_at,
    if(has_closure = 1 AND execution_time >= 0, execution_time, NULL) AS execution_time_s,
    if(has_closure = 1 OR app_count > 0, app_count, NULL) AS app_count,
    if(has_closure = 1 OR app_fails > 0, app_fails, NULL) AS app_fails,
    if(stored_status = 'running' AND day < today() - 7, 'unfinished', toString(stored_status)) AS status,
    toString(stored_status) AS stored_status,
    day,
    points,
    if(has_launch = 1 AND (has_closure = 0 OR launch_received_at <= closure_received_at), launch_received_at, closure_received_at) AS first_seen_at,
    if(has_closure = 1 AND closure_received_at >= launch_received_at, closure_received_at, launch_received_at) AS last_seen_at
FROM
(
    SELECT
        workflow_id, status AS stored_status, protocol, tracking_level, parsl_version, parsl_release_date,
        install_age_days, python_version, python_minor, platform, os_release, project_name, is_test,
        executors, providers, launchers, other_components, executors_len, dependency_resolver, mpi,
        app_count, app_fails, has_launch, has_closure, day, launch_received_at, closure_received_at,
        start_time, end_time, execution_time, points
    FROM ${db}.workflow_versions FINAL
);
