// Replication lag between the two replicas of the local cluster (npm run cluster:up): SAMPLES
// inserts of one row through replica 1 into a scratch ReplicatedMergeTree table, each timed until
// replica 2 returns it (polled every 10 ms). Prints the samples' min/median/p95/max in ms.
//   node bench/cluster/replication-lag.mjs [SAMPLES]
const samples = Number(process.argv[2] ?? 20);
const urls = ['http://127.0.0.1:18121', 'http://127.0.0.1:18122'];
const auth = `user=admin&password=${process.env.CLICKHOUSE_ADMIN_PASSWORD ?? 'admin-dev-password'}`;

async function q(replica, sql) {
  const res = await fetch(`${urls[replica]}/?${auth}`, { method: 'POST', body: sql });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text.slice(0, 300)}`);
  return text.trim();
}

const table = 'lag_probe.t';
for (const r of [0, 1]) {
  await q(r, 'CREATE DATABASE IF NOT EXISTS lag_probe');
  await q(
    r,
    `CREATE TABLE IF NOT EXISTS ${table} (n UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/lag_probe.t', '{replica}') ORDER BY n`,
  );
}
const lags = [];
try {
  for (let i = 0; i < samples; i++) {
    const n = Date.now() * 1000 + i;
    await q(0, `INSERT INTO ${table} VALUES (${n})`);
    const t0 = performance.now();
    while ((await q(1, `SELECT count() FROM ${table} WHERE n = ${n}`)) !== '1') {
      await new Promise((r) => setTimeout(r, 10));
    }
    lags.push(performance.now() - t0);
  }
} finally {
  for (const r of [0, 1]) await q(r, 'DROP DATABASE IF EXISTS lag_probe');
}
lags.sort((a, b) => a - b);
const at = (p) => Math.round(lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]);
console.log(JSON.stringify({ samples, minMs: at(0), medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1) }));
