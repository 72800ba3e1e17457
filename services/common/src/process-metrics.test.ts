import { describe, expect, it } from 'vitest';
import { ProcessMetrics, withProcessMetrics } from './process-metrics.js';

describe('ProcessMetrics', () => {
  it('exposes CPU, memory, GC and event-loop metrics after the service own ones', async () => {
    const text = await withProcessMetrics('svc_total 1', new ProcessMetrics());
    expect(text.startsWith('svc_total 1\n')).toBe(true);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
    ])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });
});
