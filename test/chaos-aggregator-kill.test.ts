import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from '@parsl-usage/kit/soak';
import { clickhouseUrl, kafkaBrokers } from './setup/env.js';

/**
 * The short form of bench/chaos's aggregator-kill scenario: the aggregator process is
 * SIGKILLed mid-stream (no shutdown, no commit of the batch in hand) and restarted; every
 * count in ClickHouse must still be exact, none doubled.
 */
describe('chaos (short): aggregator SIGKILL mid-stream', () => {
  it('SIGKILL at 8 s, restart, exact counts and no double count', async () => {
    const r = await runSoak({
      label: 'ci chaos aggregator-kill',
      brokers: kafkaBrokers(),
      clickhouseUrl: clickhouseUrl(),
      rate: 300,
      durationMs: 15_000,
      partitions: 3,
      // The group's session timeout (AGG_SESSION_TIMEOUT_MS, 10 s) passes before the restarted
      // member gets the dead one's partitions: the drain has to outwait it, with room to spare.
      drainTimeoutMs: 50_000,
      log: () => undefined,
      faults: [
        {
          name: 'aggregator SIGKILL',
          atMs: 8_000,
          run: async (ctx) => {
            const startedAt = Date.now();
            await ctx.aggregators[0]!.stop('SIGKILL');
            ctx.aggregators[0]!.start();
            return { name: 'aggregator SIGKILL', startedAt, recoveredAt: Date.now() };
          },
        },
      ],
    });
    if (!r.drained || r.vsReceived.missing > 0 || process.env.TEST_LOG_LEVEL) console.log(formatReport(r));
    expect(r.faults).toHaveLength(1);
    expect(r.resources['aggregator-0']?.starts).toBe(2);
    expect(r.drained).toBe(true);
    expect(r.relay.received).toBe(r.ledger.total);
    for (const c of [r.vsSent, r.vsReceived]) {
      expect(c.expected).toBe(r.ledger.workflows);
      expect({ missing: c.missing, wrongStatus: c.wrongStatus, unexpected: c.unexpected }).toEqual({
        missing: 0,
        wrongStatus: 0,
        unexpected: 0,
      });
    }
    expect(r.doubleCounts).toMatchObject({ over: 0, under: 0 });
    expect(r.rollup).toEqual(r.vsSent.totalsExpected);
  }, 110_000);
});
