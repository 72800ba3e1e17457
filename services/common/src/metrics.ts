import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';

type Labels = Record<string, string>;

/** One counter or gauge family: its values by label set (a prom-client metric shows them). */
interface Family {
  help: string;
  type: 'counter' | 'gauge';
  series: Map<string, { labels: Labels; value: number }>;
  labelNames: string[];
}

export interface MetricsOptions {
  /** prom-client's default metrics (CPU, memory, GC, event loop) in the same registry (main.ts). */
  processMetrics?: boolean;
}

/**
 * A service's metrics by name, in one prom-client registry that its /metrics renders. Counters
 * and gauges keep their values as plain numbers, read by prom-client at scrape time, so `get`
 * stays synchronous; `observe` is a prom-client histogram. A family's label names are those of
 * its calls (a new name widens it).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly families = new Map<string, Family>();
  private readonly histograms = new Map<string, Histogram<string>>();

  constructor(opts: MetricsOptions = {}) {
    if (opts.processMetrics) collectProcessMetrics(this.registry);
  }

  private static key(labels: Labels = {}): string {
    return JSON.stringify(labels);
  }

  /** (Re)creates the prom-client metric of a family; its values stay where they are. */
  private expose(
    name: string,
    help: string,
    type: Family['type'],
    labelNames: string[],
    series: Family['series'],
  ) {
    this.registry.removeSingleMetric(name);
    const collect = (): void => {
      exposed.reset();
      // A cleared unlabelled gauge has no sample, not a zero.
      if (series.size === 0 && labelNames.length === 0) exposed.remove();
      for (const s of series.values()) {
        if (exposed instanceof Counter) exposed.inc(s.labels, s.value);
        else exposed.set(s.labels, s.value);
      }
    };
    const config = { name, help, labelNames, registers: [this.registry], collect };
    const exposed = type === 'counter' ? new Counter(config) : new Gauge(config);
    const family: Family = { help, type, series, labelNames };
    this.families.set(name, family);
    return family;
  }

  private series(name: string, help: string, type: Family['type'], labels: Labels = {}) {
    let f = this.families.get(name);
    if (!f) f = this.expose(name, help, type, Object.keys(labels), new Map());
    else if (Object.keys(labels).some((k) => !f?.labelNames.includes(k))) {
      const wider = [...new Set([...f.labelNames, ...Object.keys(labels)])];
      f = this.expose(name, f.help, f.type, wider, f.series);
    }
    const k = Metrics.key(labels);
    let s = f.series.get(k);
    if (!s) {
      s = { labels: { ...labels }, value: 0 };
      f.series.set(k, s);
    }
    return s;
  }

  inc(name: string, help: string, by = 1, labels?: Labels): void {
    this.series(name, help, 'counter', labels).value += by;
  }

  set(name: string, help: string, value: number, labels?: Labels): void {
    this.series(name, help, 'gauge', labels).value = value;
  }

  /**
   * One observation in a prom-client histogram (`_bucket`, `_sum`, `_count`). Its label names and
   * buckets are fixed by the first call; the default buckets suit seconds.
   */
  observe(name: string, help: string, value: number, labels: Labels = {}, buckets?: readonly number[]): void {
    let h = this.histograms.get(name);
    if (!h) {
      h = new Histogram({
        name,
        help,
        labelNames: Object.keys(labels),
        registers: [this.registry],
        ...(buckets ? { buckets: [...buckets] } : {}),
      });
      this.histograms.set(name, h);
    }
    h.observe(labels, value);
  }

  /** Drops every series of a gauge family (a set of labels that is recomputed as a whole). */
  clear(name: string): void {
    this.families.get(name)?.series.clear();
  }

  get(name: string, labels?: Labels): number {
    return this.families.get(name)?.series.get(Metrics.key(labels))?.value ?? 0;
  }

  /** The Prometheus text exposition of the whole registry. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
