import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PROCESS_METRICS } from '@parsl-usage/kit/promtool';
import { collectProcessMetrics } from './process-metrics.js';

describe('collectProcessMetrics', () => {
  it('adds CPU, memory, GC and event-loop metrics to the registry it is given', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    const text = await registry.metrics();
    for (const name of PROCESS_METRICS) expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });
});
