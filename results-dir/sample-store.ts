// The collectors' samples (sample.ts) grouped into series, indexed by source and metric, and the arithmetic
// reports do on them.
import type { Sample } from './sample.ts';

/** One series: every reading of one (source, host, metric, labels). Times are epoch ms. */
export interface Series {
  source: string;
  host: string;
  metric: string;
  labels: Record<string, string>;
  t: number[];
  v: number[];
}

export interface GapInfo {
  source: string;
  host: string;
  part?: string;
  count: number;
  firstError: string;
}

/** The collectors' samples, grouped into series and indexed by source and metric. */
export class SampleStore {
  private byKey = new Map<string, Series>();
  private byMetric = new Map<string, Series[]>();
  readonly gaps = new Map<string, GapInfo>();
  lines = 0;
  badLines = 0;
  firstMs = Infinity;
  lastMs = -Infinity;

  add(s: Omit<Sample, 'labels' | 'gap'> & { labels?: Record<string, string>; gap?: boolean }): void {
    const t = Date.parse(s.ts);
    if (!Number.isFinite(t)) {
      this.badLines++;
      return;
    }
    this.lines++;
    if (t < this.firstMs) this.firstMs = t;
    if (t > this.lastMs) this.lastMs = t;
    const labels = s.labels ?? {};
    if (s.gap) {
      const k = `${s.source}|${s.host}|${labels.part ?? ''}`;
      const g = this.gaps.get(k);
      if (g) g.count++;
      else
        this.gaps.set(k, {
          source: s.source,
          host: s.host,
          ...(labels.part ? { part: labels.part } : {}),
          count: 1,
          firstError: s.error ?? 'unknown',
        });
      return;
    }
    if (typeof s.value !== 'number' || !Number.isFinite(s.value)) {
      this.badLines++;
      return;
    }
    const labelKey = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(',');
    const key = `${s.source}|${s.host}|${s.metric}|${labelKey}`;
    let series = this.byKey.get(key);
    if (!series) {
      series = { source: s.source, host: s.host, metric: s.metric, labels, t: [], v: [] };
      this.byKey.set(key, series);
      const mk = `${s.source}|${s.metric}`;
      const list = this.byMetric.get(mk);
      if (list) list.push(series);
      else this.byMetric.set(mk, [series]);
    }
    series.t.push(t);
    series.v.push(s.value);
  }

  /** Series of one metric, optionally only those whose labels include `where` (and of one host). */
  get(source: string, metric: string, where: Record<string, string> = {}, host?: string): Series[] {
    const list = this.byMetric.get(`${source}|${metric}`) ?? [];
    return list.filter((s) => (host === undefined || s.host === host) && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  }

  has(source: string): boolean {
    for (const k of this.byMetric.keys()) if (k.startsWith(`${source}|`)) return true;
    return false;
  }

  sources(): string[] {
    return [...new Set([...this.byMetric.keys()].map((k) => k.split('|')[0]!))].sort();
  }

  hosts(source: string): string[] {
    const out = new Set<string>();
    for (const [k, list] of this.byMetric) if (k.startsWith(`${source}|`)) for (const s of list) out.add(s.host);
    return [...out].sort();
  }

  get seriesCount(): number {
    return this.byKey.size;
  }
}

/** The readings of `s` within [fromMs, toMs]. */
export function within(s: Series, fromMs: number, toMs: number): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < s.t.length; i++) {
    if (s.t[i]! >= fromMs && s.t[i]! <= toMs) {
      t.push(s.t[i]!);
      v.push(s.v[i]!);
    }
  }
  return { t, v };
}

/** How much a cumulative counter rose over its readings: the sum of rises, a fall (restart) counted as a new start. */
export function increase(v: readonly number[]): number {
  let total = 0;
  for (let i = 1; i < v.length; i++) {
    const d = v[i]! - v[i - 1]!;
    total += d >= 0 ? d : v[i]!;
  }
  return total;
}

/**
 * Sum of a per-second rate over time. A collector's rate at a tick covers the interval since the tick before, so
 * each reading counts for the time back to the previous one (the first for as long as the next interval).
 */
export function integrate(t: readonly number[], v: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < t.length; i++) {
    const dt = i > 0 ? t[i]! - t[i - 1]! : t.length > 1 ? t[1]! - t[0]! : 0;
    total += (v[i]! * dt) / 1000;
  }
  return total;
}

/** Series summed by time stamp (readings of one tick share a stamp). */
export function sumByTime(series: readonly Series[]): { t: number[]; v: number[] } {
  const m = new Map<number, number>();
  for (const s of series) for (let i = 0; i < s.t.length; i++) m.set(s.t[i]!, (m.get(s.t[i]!) ?? 0) + s.v[i]!);
  const t = [...m.keys()].sort((a, b) => a - b);
  return { t, v: t.map((x) => m.get(x)!) };
}
