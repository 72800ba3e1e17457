/** A minimal Prometheus text-format registry: counters and gauges with fixed label sets. */
export class Metrics {
  private readonly values = new Map<
    string,
    { help: string; type: 'counter' | 'gauge'; series: Map<string, number> }
  >();

  private family(name: string, help: string, type: 'counter' | 'gauge') {
    let f = this.values.get(name);
    if (!f) {
      f = { help, type, series: new Map() };
      this.values.set(name, f);
    }
    return f;
  }

  private static labelKey(labels: Record<string, string> = {}): string {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`);
    return parts.length ? `{${parts.join(',')}}` : '';
  }

  inc(name: string, help: string, by = 1, labels?: Record<string, string>): void {
    const f = this.family(name, help, 'counter');
    const k = Metrics.labelKey(labels);
    f.series.set(k, (f.series.get(k) ?? 0) + by);
  }

  set(name: string, help: string, value: number, labels?: Record<string, string>): void {
    this.family(name, help, 'gauge').series.set(Metrics.labelKey(labels), value);
  }

  /** A summary without quantiles: `_sum`, `_count` and `_max` are enough for rates and worst cases. */
  observe(name: string, help: string, value: number, labels?: Record<string, string>): void {
    this.inc(`${name}_sum`, `${help} (sum)`, value, labels);
    this.inc(`${name}_count`, `${help} (count)`, 1, labels);
    const k = `${name}_max`;
    if (value > this.get(k, labels)) this.set(k, `${help} (max)`, value, labels);
  }

  /** Drops every series of a gauge family (a set of labels that is recomputed as a whole). */
  clear(name: string): void {
    this.values.get(name)?.series.clear();
  }

  get(name: string, labels?: Record<string, string>): number {
    return this.values.get(name)?.series.get(Metrics.labelKey(labels)) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.values) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [k, v] of f.series) out.push(`${name}${k} ${v}`);
    }
    return out.join('\n') + '\n';
  }
}
