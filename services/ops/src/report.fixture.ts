/** Test fixtures shared by the report's specs: a period's totals, zero but for what a case sets. */
import type { Totals } from './report.js';

export const totals = (runs: number, over: Partial<Totals> = {}): Totals => ({
  runs,
  runsWithClosure: 0,
  unfinished: 0,
  apps: 0,
  appFails: 0,
  points: 0,
  namedProjects: 0,
  ...over,
});
