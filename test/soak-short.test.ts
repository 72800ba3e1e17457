import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from '@parsl-usage/kit/soak';
import { clickhouseUrl, kafkaBrokers } from './setup/env.js';

/**
 * The short form of bench/e2e/soak.ts: real-shaped launch/closure pairs of every protocol
 * generation, 1 % garbage, 1 % duplicates, from 253 loopback source addresses, through the
 * relay and aggregator processes into ClickHouse; then every workflow and rollup is compared
 * with the generator's ledger.
 */
describe('soak (short): generator → relay → Kafka → aggregator → ClickHouse', () => {
  it('20 s at 300 datagrams/s: every workflow and every rollup total is exact', async () => {
    const r = await runSoak({
      label: 'ci soak',
      brokers: kafkaBrokers(),
      clickhouseUrl: clickhouseUrl(),
      rate: 300,
      durationMs: 20_000,
      partitions: 3,
      drainTimeoutMs: 40_000,
      log: () => undefined,
    });
    if (!r.pass || process.env.TEST_LOG_LEVEL) console.log(formatReport(r));
    expect(r.drained).toBe(true);
    expect(r.ledger.total).toBeGreaterThan(5_500);
    // At 300/s an 8 MiB socket buffer would need a minute-long stall to overflow: nothing may go missing.
    expect(r.relay.received).toBe(r.ledger.total);
    expect(r.relay.rateLimited).toBe(0);
    expect(r.relay.droppedByReason).toEqual({});
    // Every garbage datagram rejected for the reason it was made for, at the stage expected.
    expect(r.kafka.rejectedByStageReason).toEqual(r.garbageExpected);
    // Against what was sent (ground truth) and what Kafka holds: exact, per workflow.
    for (const c of [r.vsSent, r.vsReceived]) {
      expect(c.expected).toBe(r.ledger.workflows);
      expect({ missing: c.missing, wrongStatus: c.wrongStatus, unexpected: c.unexpected }).toEqual({
        missing: 0,
        wrongStatus: 0,
        unexpected: 0,
      });
    }
    expect(r.stored.workflows).toBe(r.ledger.workflows);
    expect(r.stored.byStatus).toEqual(
      Object.fromEntries(Object.entries(r.vsSent.statusExpected).filter(([, v]) => v > 0)),
    );
    expect(r.doubleCounts).toMatchObject({ over: 0, under: 0 });
    expect(r.rollup).toEqual(r.vsSent.totalsExpected);
    // Every probe became visible; how fast is reported, not asserted (the machine is shared).
    expect(r.freshness.seen).toBe(r.freshness.sent);
  }, 90_000);
});
