/**
 * The operator commands' public API: the operations beneath the CLIs (src/*-cli.ts, run as
 * `npm run <name>`, which are process entries and not exported here). Loading it starts nothing.
 * Tests, benchmarks and the kit reach every other module as `@parsl-usage/ops/internal/<module>`,
 * which shipped code may not use.
 */
export { runBackup, verifyBackup, type BackupResult, type VerifyResult } from './backup-run.js';
export { forgetProject, type ForgetResult } from './forget-project-run.js';
export { periodsFor, renderReport, type Period, type Report, type ReportInput } from './report.js';
export { fetchReportHistory, fetchReportInput } from './report-fetch.js';
export {
  clickHouseEventSource,
  derivedTables,
  reprocessFromEvents,
  type EventSource,
  type ReprocessResult,
} from './reprocess.js';
export { runRestore, type RestoreOptions, type RestoreResult } from './restore-run.js';
export { applyRetention } from './retention-run.js';
