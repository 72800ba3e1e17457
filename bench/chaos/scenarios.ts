/**
 * Fault scenarios for the soak. Each runs on fresh topics and a fresh database, so each is
 * reported on its own. Container faults need the containers' names (kit/src/stack.ts).
 */
import { podman, sleep } from '@parsl-usage/kit/proc';
import type { Fault, FaultContext, FaultRecord, SoakOptions } from '@parsl-usage/kit/soak';
import { waitClickHouse, waitKafka } from '@parsl-usage/kit/stack';

export interface Scenario {
  name: string;
  what: string;
  /** loss that is by design, and why */
  byDesign?: string;
  options: (base: { durationMs: number; rate: number }) => Partial<SoakOptions>;
}

function container(ctx: FaultContext, which: 'kafka' | 'clickhouse'): string {
  const c = ctx.containers[which];
  if (!c)
    throw new Error(`scenario needs the ${which} container's name (SOAK_${which.toUpperCase()}_CONTAINER)`);
  return c;
}

/** SIGKILL the broker, leave it down for `downMs`, start it and wait until it serves. */
function killKafka(atMs: number, downMs: number): Fault {
  return {
    name: `kafka SIGKILL, ${downMs / 1000} s down`,
    atMs,
    run: async (ctx) => {
      const name = container(ctx, 'kafka');
      const startedAt = Date.now();
      await podman('kill', '-s', 'KILL', name);
      await sleep(downMs);
      const since = new Date().toISOString();
      await podman('start', name);
      await waitKafka(name, 180_000, since);
      return { name: `kafka SIGKILL, ${downMs / 1000} s down`, startedAt, recoveredAt: Date.now() };
    },
  };
}

function killAggregator(atMs: number, index = 0, restartAfterMs = 0): Fault {
  const name = `aggregator-${index} SIGKILL${restartAfterMs > 0 ? `, restarted after ${restartAfterMs / 1000} s` : ''}`;
  return {
    name,
    atMs,
    run: async (ctx) => {
      const agg = ctx.aggregators[index]!;
      const startedAt = Date.now();
      await agg.stop('SIGKILL');
      if (restartAfterMs > 0) await sleep(restartAfterMs);
      agg.start();
      return { name, startedAt, recoveredAt: Date.now() };
    },
  };
}

/**
 * Freeze the broker (`podman pause`) for `frozenMs`: its kernel still takes requests into the
 * sockets, the relay's produce times out (10 s) and is spooled as uncertain, and the broker
 * appends what it held when it thaws, at a time of its own.
 */
function freezeKafka(atMs: number, frozenMs: number): Fault {
  const name = `kafka frozen ${frozenMs / 1000} s`;
  return {
    name,
    atMs,
    run: async (ctx) => {
      const c = container(ctx, 'kafka');
      const startedAt = Date.now();
      await podman('pause', c);
      try {
        await sleep(frozenMs);
      } finally {
        await podman('unpause', c);
      }
      return { name, startedAt, recoveredAt: Date.now() };
    },
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kafka-kill',
    what: 'Kafka broker SIGKILL at 20 s, podman start 10 s later; the relay spools meanwhile',
    options: () => ({ faults: [killKafka(20_000, 10_000)], exactlyOnceIntoTopic: true }),
  },
  {
    name: 'kafka-freeze',
    what: 'Kafka broker frozen (podman pause) at 20 s for 20 s; publishes time out, yet land on thaw',
    options: () => ({ faults: [freezeKafka(20_000, 20_000)], exactlyOnceIntoTopic: true }),
  },
  {
    name: 'aggregator-kill',
    what: 'aggregator SIGKILL every 20 s, restarted at once (as a service manager would)',
    options: ({ durationMs }) => ({
      faults: Array.from({ length: Math.max(1, Math.floor((durationMs - 10_000) / 20_000)) }, (_, i) =>
        killAggregator(20_000 * (i + 1)),
      ),
    }),
  },
  {
    name: 'relay-restart',
    what: 'relay SIGTERM at 20 s under load, restarted as soon as it exited',
    byDesign: 'datagrams sent while no process has the UDP port bound are dropped by the kernel (NoPorts)',
    options: () => ({
      faults: [
        {
          name: 'relay SIGTERM + restart',
          atMs: 20_000,
          run: async (ctx): Promise<FaultRecord> => {
            const startedAt = Date.now();
            await ctx.relay.stop('SIGTERM');
            const stoppedAt = Date.now();
            ctx.relay.service.start();
            await ctx.relay.waitHealthy();
            return {
              name: 'relay SIGTERM + restart',
              startedAt,
              recoveredAt: Date.now(),
              note: `stop took ${stoppedAt - startedAt} ms, port unbound for ${Date.now() - stoppedAt} ms`,
            };
          },
        },
      ],
    }),
  },
  {
    name: 'clickhouse-stop',
    what: 'ClickHouse podman stop at 20 s, podman start 60 s later',
    options: () => ({
      faults: [
        {
          name: 'clickhouse stopped 60 s',
          atMs: 20_000,
          run: async (ctx): Promise<FaultRecord> => {
            const name = container(ctx, 'clickhouse');
            const startedAt = Date.now();
            await podman('stop', '-t', '10', name);
            await sleep(Math.max(0, startedAt + 60_000 - Date.now()));
            await podman('start', name);
            await waitClickHouse(ctx.clickhouseUrl, 120_000);
            return { name: 'clickhouse stopped 60 s', startedAt, recoveredAt: Date.now() };
          },
        },
      ],
    }),
  },
  {
    name: 'spool-full',
    what: 'RELAY_SPOOL_MAX_BYTES=1 MiB, Kafka SIGKILLed at 20 s for 30 s: the spool fills to its cap',
    byDesign: 'batches past the spool cap are dropped and counted (relay_dropped_total{reason="spool_full"})',
    options: () => ({
      relayEnv: { RELAY_SPOOL_MAX_BYTES: String(1024 * 1024) },
      faults: [killKafka(20_000, 30_000)],
    }),
  },
  {
    name: 'flood',
    what: 'one source (127.0.0.1) sends valid launches at 1,000/s = 20x the per-source limit (50/s, burst 200)',
    byDesign: 'datagrams over the per-source limit are counted and not published',
    options: () => ({ floodRate: 1_000 }),
  },
  {
    name: 'two-aggregators',
    what: 'two aggregators in one consumer group; aggregator-1 SIGKILLed at 20 s and restarted (rejoins) at 40 s',
    options: () => ({ aggregators: 2, faults: [killAggregator(20_000, 1, 20_000)] }),
  },
  {
    name: 'relay-workers',
    what: 'RELAY_WORKERS=2: two relay workers share the UDP port (node:cluster); SIGTERM of the primary at the end',
    options: () => ({ relayWorkers: 2 }),
  },
];
