import { describe, expect, it } from 'vitest';
import { havePromtool, PROCESS_METRICS, promtoolCheck } from '@parsl-usage/kit/promtool';
import { Metrics } from './metrics.js';

describe('Metrics through prom-client', () => {
  it('counts and sets by name and labels, read back synchronously', () => {
    const m = new Metrics();
    m.inc('svc_events_total', 'events', 2);
    m.inc('svc_events_total', 'events');
    m.inc('svc_requests_total', 'requests', 1, { route: '/a', status: '200' });
    m.inc('svc_requests_total', 'requests', 4, { route: '/a', status: '200' });
    m.set('svc_open', 'open things', 7);
    m.set('svc_open', 'open things', 5);
    expect(m.get('svc_events_total')).toBe(3);
    expect(m.get('svc_requests_total', { route: '/a', status: '200' })).toBe(5);
    expect(m.get('svc_requests_total', { route: '/b', status: '200' })).toBe(0);
    expect(m.get('svc_open')).toBe(5);
    expect(m.get('svc_unknown')).toBe(0);
  });

  it('renders the same names, types, labels (in call order) and values', async () => {
    const m = new Metrics();
    m.inc('svc_events_total', 'events', 3);
    m.inc('svc_requests_total', 'requests', 1, { route: '/api/headline', status: '200' });
    m.set('svc_open', 'open things', 5);
    const text = await m.render();
    expect(text).toContain(
      '# HELP svc_events_total events\n# TYPE svc_events_total counter\nsvc_events_total 3\n',
    );
    expect(text).toMatch(/^svc_requests_total\{route="\/api\/headline",status="200"\} 1$/m);
    expect(text).toContain('# TYPE svc_open gauge\nsvc_open 5\n');
    expect(text).not.toMatch(/^process_cpu/m);
  });

  it('clear drops every series of a family, and a family may gain a label name', async () => {
    const m = new Metrics();
    m.set('svc_flagged', 'flagged', 1, { release: 'a' });
    m.set('svc_flagged', 'flagged', 1, { release: 'b' });
    m.clear('svc_flagged');
    m.set('svc_flagged', 'flagged', 1, { release: 'c' });
    m.set('svc_up', 'up', 1);
    m.clear('svc_up');
    m.inc('svc_x_total', 'x');
    m.inc('svc_x_total', 'x', 2, { kind: 'k' });
    const text = await m.render();
    expect(text).not.toContain('release="a"');
    expect(text).toMatch(/^svc_flagged\{release="c"\} 1$/m);
    expect(text).not.toMatch(/^svc_up /m);
    expect(text).toMatch(/^svc_x_total 1$/m);
    expect(text).toMatch(/^svc_x_total\{kind="k"\} 2$/m);
    expect(m.get('svc_x_total', { kind: 'k' })).toBe(2);
  });

  it('observe is a histogram: buckets, _sum and _count', async () => {
    const m = new Metrics();
    m.observe('svc_insert_seconds', 'insert latency', 0.02, { table: 'changes' });
    m.observe('svc_insert_seconds', 'insert latency', 3, { table: 'changes' });
    m.observe('svc_batch_messages', 'messages per batch', 300, {}, [1, 100, 1000]);
    const text = await m.render();
    expect(text).toContain('# TYPE svc_insert_seconds histogram\n');
    expect(text).toMatch(/^svc_insert_seconds_bucket\{le="0\.025",table="changes"\} 1$/m);
    expect(text).toMatch(/^svc_insert_seconds_sum\{table="changes"\} 3\.02$/m);
    expect(text).toMatch(/^svc_insert_seconds_count\{table="changes"\} 2$/m);
    expect(text).toContain('svc_batch_messages_bucket{le="100"} 0\nsvc_batch_messages_bucket{le="1000"} 1\n');
    expect(text).toMatch(/^svc_batch_messages_count 1$/m);
  });

  it('adds prom-client process metrics to the same registry when asked', async () => {
    const m = new Metrics({ processMetrics: true });
    m.inc('svc_events_total', 'events');
    const text = await m.render();
    for (const name of ['svc_events_total', ...PROCESS_METRICS])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });

  it.skipIf(!havePromtool())('parses as Prometheus text (promtool check metrics)', async () => {
    const m = new Metrics({ processMetrics: true });
    m.inc('svc_requests_total', 'requests', 1, { route: '/a"b\\c\nd', status: '200' });
    m.set('svc_open', 'open things', 5);
    m.observe('svc_insert_seconds', 'insert latency', 0.02, { table: 'changes' });
    const { status, findings } = promtoolCheck(await m.render());
    expect([0, 3]).toContain(status);
    // Lint findings, if any, are about prom-client's own process metrics, never ours.
    expect(findings).not.toMatch(/svc_/);
  });
});
