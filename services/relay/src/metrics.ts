/**
 * A minimal Prometheus text-format registry. The relay needs a dozen series; a client
 * library would be a dependency for what fits on a page. Values are plain numbers read
 * synchronously, which is what lets `accounting()` check the counter identity at any moment.
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

interface Series {
  render(): string[];
}

export class Counter implements Series {
  private readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  /** Summed over every label set. */
  total(): number {
    let sum = 0;
    for (const v of this.values.values()) sum += v;
    return sum;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines;
  }
}

/** A value read at scrape time; `undefined` (e.g. no /proc on this OS) omits the series. */
export class Gauge implements Series {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => number | undefined,
    private readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  render(): string[] {
    const v = this.read();
    if (v === undefined) return [];
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, `${this.name} ${v}`];
  }
}

/** A gauge the relay moves itself, in the same synchronous step as the counter it pairs with. */
export class Level implements Series {
  private value = 0;

  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  inc(by = 1): void {
    this.value += by;
  }

  dec(by = 1): void {
    this.value -= by;
  }

  get(): number {
    return this.value;
  }

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.value}`];
  }
}

export class Histogram implements Series {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= (this.bounds[i] ?? Infinity)) this.counts[i] = (this.counts[i] ?? 0) + 1;
    }
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.bounds.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i] ?? 0}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines;
  }
}

export interface RelayMetrics {
  received: Counter;
  accepted: Counter;
  rejected: Counter;
  rateLimited: Counter;
  published: Counter;
  spooled: Counter;
  /** Messages sent straight to the spool because the memory backlog was full. */
  spilled: Counter;
  dropped: Counter;
  publishErrors: Counter;
  /** Messages found in spool segments an earlier run left, counted as each segment is read. */
  spoolRecovered: Counter;
  spoolTornBytes: Counter;
  /** Spooled messages found in Kafka already (an uncertain publish had landed), not re-sent. */
  spoolAlreadyPublished: Counter;
  /** Read-backs of a topic after an uncertain publish, by outcome. */
  readbacks: Counter;
  readbackLatency: Histogram;
  /** Messages handed to delivery and not yet published, spooled or dropped. */
  delivering: Level;
  /** Messages in the spool not yet published or dropped. */
  spoolMessages: Level;
  batchLatency: Histogram;
  batchSize: Histogram;
  publishLatency: Histogram;
  render(): string;
  /** Gauges read live state, so they are attached once the spool exists. */
  addGauge(name: string, help: string, read: () => number | undefined, type?: 'gauge' | 'counter'): void;
}

export function createMetrics(): RelayMetrics {
  const series: Series[] = [];
  const add = <T extends Series>(s: T): T => {
    series.push(s);
    return s;
  };
  return {
    received: add(new Counter('relay_received_total', 'Datagrams read from the UDP socket')),
    accepted: add(
      new Counter('relay_accepted_total', 'Datagrams that passed sniff, bound for the raw topic'),
    ),
    rejected: add(new Counter('relay_rejected_total', 'Datagrams bound for the rejected topic, by reason')),
    rateLimited: add(
      new Counter('relay_rate_limited_total', 'Datagrams over the per-source limit, not published'),
    ),
    published: add(new Counter('relay_published_total', 'Messages acknowledged by Kafka, by topic kind')),
    spooled: add(new Counter('relay_spooled_total', 'Messages written to the on-disk spool')),
    spilled: add(
      new Counter(
        'relay_spilled_total',
        'Messages sent straight to the spool because the memory backlog was full',
      ),
    ),
    dropped: add(new Counter('relay_dropped_total', 'Messages lost, by reason')),
    publishErrors: add(
      new Counter('relay_publish_errors_total', 'Failed Kafka publish attempts, by retriable'),
    ),
    spoolRecovered: add(
      new Counter(
        'relay_spool_recovered_total',
        'Messages read back from spool segments an earlier run left',
      ),
    ),
    spoolTornBytes: add(
      new Counter('relay_spool_torn_bytes_total', 'Bytes after a torn or corrupt spool record, discarded'),
    ),
    spoolAlreadyPublished: add(
      new Counter(
        'relay_spool_already_published_total',
        'Spooled messages found in Kafka already (a failed publish had landed); counted as published, not re-sent',
      ),
    ),
    readbacks: add(
      new Counter(
        'relay_readbacks_total',
        'Topic read-backs before replaying uncertain spooled messages, by outcome (ok, failed)',
      ),
    ),
    readbackLatency: add(
      new Histogram(
        'relay_readback_seconds',
        'Duration of one successful topic read-back',
        [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      ),
    ),
    delivering: add(new Level('relay_delivering_messages', 'Messages being published or spooled')),
    spoolMessages: add(
      new Level('relay_spool_messages', 'Messages in the spool, not yet published (known segments)'),
    ),
    batchSize: add(
      new Histogram(
        'relay_batch_size_messages',
        'Messages per batch handed to delivery',
        [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      ),
    ),
    publishLatency: add(
      new Histogram(
        'relay_publish_latency_seconds',
        'Duration of one successful Kafka publish (a batch or a spool replay chunk)',
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ),
    ),
    batchLatency: add(
      new Histogram(
        'relay_batch_latency_seconds',
        'From the first datagram of a batch to its Kafka acknowledgement',
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ),
    ),
    addGauge(name, help, read, type) {
      series.push(new Gauge(name, help, read, type));
    },
    render() {
      return series.flatMap((s) => s.render()).join('\n') + '\n';
    },
  };
}
