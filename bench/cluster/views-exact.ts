/**
 * Every rollup of each replica against its view over workflow_changes (kit/src/view-check.ts):
 * prints one line per replica and exits 1 when any disagrees. Used by faults.sh.
 *   npx tsx bench/cluster/views-exact.ts http://127.0.0.1:18121 http://127.0.0.1:18122
 */
import { createClient } from '@clickhouse/client';
import { viewDisagreements } from '@parsl-usage/kit/view-check';

let bad = 0;
for (const url of process.argv.slice(2)) {
  const client = createClient({
    url,
    username: 'admin',
    password: process.env.CLICKHOUSE_ADMIN_PASSWORD ?? 'admin-dev-password',
  });
  try {
    const d = await viewDisagreements(client, 'parsl_usage');
    if (Object.keys(d).length > 0) bad++;
    console.log(`${url}: every view target against its view over workflow_changes: ${JSON.stringify(d)}`);
  } finally {
    await client.close();
  }
}
process.exit(bad === 0 ? 0 : 1);
