// The relay's Prometheus series: plain-number counters and levels, and histograms.
import { collectProcessMetrics } from '@parsl-usage/common';
import {
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
} from 'prom-client';

/**
 * The relay's series, exposed through one prom-client registry. Counters and levels are plain
 * numbers moved where the relay moves messages, in the same synchronous step as their pair, and
 * read by prom-client only at scrape time (`collect`): that keeps the per-datagram cost at a
 * field increment and lets `accounting()` check the counter identity at any moment. Histograms
 * (one observation per batch, not per datagram) are prom-client's own.
 */

/** The exposition of one family, as lines (HELP, TYPE, samples). */
async function familyLines(registry: Registry, name: string): Promise<string[]> {
  return (await registry.getSingleMetricAsString(name)).split('\n');
}

/** A counter with at most one label (`L`); `inc()` on an unlabelled one adds to a number. */
export class Counter<L extends string = never> {
  private unlabelled = 0;
  private readonly byValue = new Map<string, number>();
  private readonly exposed: PromCounter<string>;

  constructor(
    private readonly registry: Registry,
    readonly name: string,
    help: string,
    private readonly label?: L,
  ) {
    this.exposed = new PromCounter({
      name,
      help,
      labelNames: label === undefined ? [] : [label],
      registers: [registry],
      collect: () => {
        const c = this.exposed;
        c.reset();
        // A labelled family nothing has been counted in yet still shows `name 0`.
        if (this.unlabelled !== 0 || this.byValue.size === 0) c.inc(this.unlabelled);
        if (this.label !== undefined) for (const [v, n] of this.byValue) c.inc({ [this.label]: v }, n);
      },
    });
  }

  inc(labels?: Record<L, string>, by = 1): void {
    if (this.label === undefined || labels === undefined) {
      this.unlabelled += by;
      return;
    }
    const k = labels[this.label];
    this.byValue.set(k, (this.byValue.get(k) ?? 0) + by);
  }

  get(labels?: Record<L, string>): number {
    if (this.label === undefined || labels === undefined) return this.unlabelled;
    return this.byValue.get(labels[this.label]) ?? 0;
  }

  /** Summed over every label value. */
  total(): number {
    let sum = this.unlabelled;
    for (const v of this.byValue.values()) sum += v;
    return sum;
  }

  render(): Promise<string[]> {
    return familyLines(this.registry, this.name);
  }
}

/** A gauge the relay moves itself, in the same synchronous step as the counter it pairs with. */
export class Level {
  private value = 0;
  private readonly exposed: PromGauge<string>;

  constructor(
    private readonly registry: Registry,
    readonly name: string,
    help: string,
  ) {
    this.exposed = new PromGauge({
      name,
      help,
      registers: [registry],
      collect: () => this.exposed.set(this.value),
    });
  }

  inc(by = 1): void {
    this.value += by;
  }

  dec(by = 1): void {
    this.value -= by;
  }

  get(): number {
    return this.value;
  }

  render(): Promise<string[]> {
    return familyLines(this.registry, this.name);
  }
}

export class Histogram {
  private readonly histogram: PromHistogram<string>;

  constructor(
    private readonly registry: Registry,
    readonly name: string,
    help: string,
    buckets: readonly number[],
  ) {
    this.histogram = new PromHistogram({ name, help, buckets: [...buckets], registers: [registry] });
  }

  observe(v: number): void {
    this.histogram.observe(v);
  }

  render(): Promise<string[]> {
    return familyLines(this.registry, this.name);
  }
}

/**
 * A value read at scrape time; `undefined` (e.g. no /proc on this OS) leaves the family without
 * a sample. `type: 'counter'` for a total kept elsewhere (the kernel's).
 */
function addReadGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | undefined,
  type: 'gauge' | 'counter',
): void {
  // Attached again on a second start: the newest reader wins.
  registry.removeSingleMetric(name);
  if (type === 'counter') {
    const c: PromCounter<string> = new PromCounter({
      name,
      help,
      registers: [registry],
      collect: () => {
        c.reset();
        const v = read();
        if (v === undefined) c.remove();
        else c.inc(v);
      },
    });
  } else {
    const g: PromGauge<string> = new PromGauge({
      name,
      help,
      registers: [registry],
      collect: () => {
        const v = read();
        if (v === undefined) g.remove();
        else g.set(v);
      },
    });
  }
}

export interface RelayMetrics {
  /** Every series of this relay process, prom-client's process metrics included when asked. */
  registry: Registry;
  received: Counter;
  accepted: Counter;
  rejected: Counter<'reason'>;
  rateLimited: Counter;
  published: Counter<'topic'>;
  spooled: Counter;
  /** Messages sent straight to the spool because the memory backlog was full. */
  spilled: Counter;
  dropped: Counter<'reason'>;
  publishErrors: Counter<'retriable'>;
  /** Messages found in spool segments an earlier run left, counted as each segment is read. */
  spoolRecovered: Counter;
  spoolTornBytes: Counter;
  /** Spooled messages found in Kafka already (an uncertain publish had landed), not re-sent. */
  spoolAlreadyPublished: Counter;
  /** Read-backs of a topic after an uncertain publish, by outcome. */
  readbacks: Counter<'outcome'>;
  readbackLatency: Histogram;
  /** Messages handed to delivery and not yet published, spooled or dropped. */
  delivering: Level;
  /** Messages in the spool not yet published or dropped. */
  spoolMessages: Level;
  batchLatency: Histogram;
  batchSize: Histogram;
  publishLatency: Histogram;
  /** The Prometheus text exposition of the whole registry. */
  render(): Promise<string>;
  /** Gauges read live state, so they are attached once the spool exists. */
  addGauge(name: string, help: string, read: () => number | undefined, type?: 'gauge' | 'counter'): void;
}

export interface CreateMetricsOptions {
  /** prom-client's default metrics (CPU, memory, GC, event loop) in the same registry. */
  processMetrics?: boolean;
}

export function createMetrics(opts: CreateMetricsOptions = {}): RelayMetrics {
  const registry = new Registry();
  const make: Makers = {
    counter: (name, help, label) => new Counter(registry, name, help, label),
    histogram: (name, help, buckets) => new Histogram(registry, name, help, buckets),
    level: (name, help) => new Level(registry, name, help),
  };
  // Registered in this order, which is the order of /metrics.
  const metrics: RelayMetrics = {
    registry,
    ...trafficMetrics(make),
    ...spoolMetrics(make),
    ...deliveryMetrics(make),
    addGauge(name, help, read, type = 'gauge') {
      addReadGauge(registry, name, help, read, type);
    },
    render: () => registry.metrics(),
  };
  if (opts.processMetrics) collectProcessMetrics(registry);
  return metrics;
}

/** Metric constructors bound to one registry. */
interface Makers {
  counter: <L extends string = never>(name: string, help: string, label?: L) => Counter<L>;
  histogram: (name: string, help: string, buckets: readonly number[]) => Histogram;
  level: (name: string, help: string) => Level;
}

/** What happens to each datagram: read, classified, published, spooled or dropped. */
function trafficMetrics({ counter }: Makers) {
  return {
    received: counter('relay_received_total', 'Datagrams read from the UDP socket'),
    accepted: counter('relay_accepted_total', 'Datagrams that passed sniff, bound for the raw topic'),
    rejected: counter('relay_rejected_total', 'Datagrams bound for the rejected topic, by reason', 'reason'),
    rateLimited: counter('relay_rate_limited_total', 'Datagrams over the per-source limit, not published'),
    published: counter('relay_published_total', 'Messages acknowledged by Kafka, by topic kind', 'topic'),
    spooled: counter('relay_spooled_total', 'Messages written to the on-disk spool'),
    spilled: counter(
      'relay_spilled_total',
      'Messages sent straight to the spool because the memory backlog was full',
    ),
    dropped: counter('relay_dropped_total', 'Messages lost, by reason', 'reason'),
    publishErrors: counter(
      'relay_publish_errors_total',
      'Failed Kafka publish attempts, by retriable',
      'retriable',
    ),
  };
}

/** The spool and its replay. */
function spoolMetrics({ counter, histogram }: Makers) {
  return {
    spoolRecovered: counter(
      'relay_spool_recovered_total',
      'Messages read back from spool segments an earlier run left',
    ),
    spoolTornBytes: counter(
      'relay_spool_torn_bytes_total',
      'Bytes after a torn or corrupt spool record, discarded',
    ),
    spoolAlreadyPublished: counter(
      'relay_spool_already_published_total',
      'Spooled messages found in Kafka already (a failed publish had landed); counted as published, not re-sent',
    ),
    readbacks: counter(
      'relay_readbacks_total',
      'Topic read-backs before replaying uncertain spooled messages, by outcome (ok, failed)',
      'outcome',
    ),
    readbackLatency: histogram(
      'relay_readback_seconds',
      'Duration of one successful topic read-back',
      [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    ),
  };
}

/** What is in flight, and how long delivery takes. */
function deliveryMetrics({ histogram, level }: Makers) {
  return {
    delivering: level('relay_delivering_messages', 'Messages being published or spooled'),
    spoolMessages: level('relay_spool_messages', 'Messages in the spool, not yet published (known segments)'),
    batchSize: histogram(
      'relay_batch_size_messages',
      'Messages per batch handed to delivery',
      [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
    ),
    publishLatency: histogram(
      'relay_publish_latency_seconds',
      'Duration of one successful Kafka publish (a batch or a spool replay chunk)',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    batchLatency: histogram(
      'relay_batch_latency_seconds',
      'From the first datagram of a batch to its Kafka acknowledgement',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  };
}
