/**
 * Times forget-project on the benchmark database (bench/rollups/run.ts must have generated it):
 *   npx tsx bench/rollups/forget.ts --url http://127.0.0.1:28134 --project proj-100 [--db bench_rollups]
 * Prints each step's elapsed time and the result (workflows and change rows forgotten, leftovers).
 */
import { createClient } from '@clickhouse/client';
import { forgetProject } from '../../services/ops/src/forget-project-run.js';
import { DEFAULT_MIGRATIONS_DIR } from '@parsl-usage/aggregator/internal/provision/provision';
import { flags } from '@parsl-usage/kit/cli';

const f = flags(process.argv.slice(2));
const project = f.get('project');
if (!project) throw new Error('--project NAME is required');
const client = createClient({
  url: f.get('url') ?? 'http://127.0.0.1:28134',
  username: 'admin',
  password: process.env.CLICKHOUSE_PASSWORD ?? 'admin-dev-password',
  request_timeout: 3_600_000,
});
const t0 = Date.now();
const s = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const r = await forgetProject({
  client,
  database: f.get('db') ?? 'bench_rollups',
  project,
  migrationsDir: DEFAULT_MIGRATIONS_DIR,
  log: (m) => console.error(`${s()} ${m}`),
});
console.log(`${JSON.stringify(r)} in ${s()}`);
await client.close();
