import { describe, expect, it } from 'vitest';
import { havePromtool, promtoolCheck } from '@parsl-usage/kit/promtool';
import { createMetrics } from './metrics.js';

describe('relay metrics through prom-client', () => {
  it('renders the values the relay moved, one family per series, names and labels as before', async () => {
    const m = createMetrics();
    m.received.inc();
    m.received.inc();
    m.accepted.inc();
    m.rejected.inc({ reason: 'too_large' });
    m.published.inc({ topic: 'raw' }, 3);
    m.spooled.inc({}, 2);
    m.delivering.inc(5);
    m.delivering.dec(2);
    m.batchSize.observe(3);
    const text = await m.render();
    expect(text).toContain('# TYPE relay_received_total counter\nrelay_received_total 2\n');
    expect(text).toContain('relay_accepted_total 1\n');
    expect(text).toContain('relay_rejected_total{reason="too_large"} 1\n');
    expect(text).toContain('relay_published_total{topic="raw"} 3\n');
    expect(text).toContain('relay_spooled_total 2\n');
    expect(text).toContain('# TYPE relay_delivering_messages gauge\nrelay_delivering_messages 3\n');
    // A labelled family nothing was counted in yet shows a zero, as the old registry did.
    expect(text).toContain('relay_dropped_total 0\n');
    expect(text).toContain('# TYPE relay_batch_size_messages histogram\n');
    expect(text).toContain('relay_batch_size_messages_bucket{le="2"} 0\n');
    expect(text).toContain('relay_batch_size_messages_bucket{le="5"} 1\n');
    expect(text).toContain('relay_batch_size_messages_bucket{le="+Inf"} 1\n');
    expect(text).toContain('relay_batch_size_messages_sum 3\nrelay_batch_size_messages_count 1\n');
    expect(text).not.toMatch(/^process_cpu/m);
  });

  it('keeps the plain numbers the accounting identity reads', () => {
    const m = createMetrics();
    m.dropped.inc({ reason: 'spool_full' }, 4);
    m.dropped.inc({ reason: 'internal' });
    m.dropped.inc({ reason: 'spool_full' });
    expect(m.dropped.get({ reason: 'spool_full' })).toBe(5);
    expect(m.dropped.get({ reason: 'publish_rejected' })).toBe(0);
    expect(m.dropped.total()).toBe(6);
    m.spoolMessages.inc(7);
    m.spoolMessages.dec(2);
    expect(m.spoolMessages.get()).toBe(5);
  });

  it('reads gauges at scrape time; an unreadable one has no sample; a second attach replaces it', async () => {
    const m = createMetrics();
    let v: number | undefined = 1;
    m.addGauge('relay_pending_batches', 'Batches waiting for delivery', () => 0);
    m.addGauge('relay_pending_batches', 'Batches waiting for delivery', () => v);
    m.addGauge('relay_kernel_udp_in_errors_total', 'Kernel UDP InErrors', () => v, 'counter');
    expect(await m.render()).toContain('relay_pending_batches 1\n');
    expect(await m.render()).toContain('# TYPE relay_kernel_udp_in_errors_total counter\n');
    v = 9;
    expect(await m.render()).toContain('relay_kernel_udp_in_errors_total 9\n');
    v = undefined;
    const text = await m.render();
    expect(text).not.toMatch(/^relay_pending_batches /m);
    expect(text).not.toMatch(/^relay_kernel_udp_in_errors_total /m);
  });

  it('adds prom-client process metrics to the same registry when asked', async () => {
    const text = await createMetrics({ processMetrics: true }).render();
    for (const name of [
      'relay_received_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
    ])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });

  it.skipIf(!havePromtool())('parses as Prometheus text (promtool check metrics)', async () => {
    const m = createMetrics({ processMetrics: true });
    m.rejected.inc({ reason: 'bad "quoted"\nreason\\' });
    m.publishLatency.observe(0.003);
    m.addGauge('relay_spool_bytes', 'Bytes held in the on-disk spool', () => 12);
    const { status, findings } = promtoolCheck(await m.render());
    expect([0, 3]).toContain(status);
    // Lint findings, if any, are about prom-client's own process metrics, never the relay's.
    expect(findings).not.toMatch(/relay_/);
  });
});
