// Reads a results directory (runner/results.ts writes it) into what the report needs: manifest, summary, k6
// summary, per-second time series, acknowledgements (counted, not kept), liveness and the collectors' samples
// (kept as compact series). Every file is optional: what is missing is listed in `missing`, never an error, so
// a report can say what it could not show. Big files are streamed line by line.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { UserError } from '../core/errors.ts';
import type { RunSummary } from '../runner/summary.ts';
import type { VmRow } from '../topology/model.ts';
import { parseTimeseriesCsv, type SecondRow } from '../runner/timeseries.ts';

export interface Manifest {
  scenario?: string;
  status?: string;
  startedAt?: string;
  endedAt?: string;
  parameters?: { users?: number; shape?: Record<string, unknown>; collectIntervalMs?: number; [k: string]: unknown };
  target?: { kind?: string; baseUrl?: string; domain?: string };
  versions?: Record<string, unknown>;
  topology?: { file: string; rows: VmRow[] };
  [k: string]: unknown;
}

export interface K6Metric {
  count?: number;
  rate?: number;
  value?: number;
  [k: string]: unknown;
}

/** One row of timeseries.csv (runner/timeseries.ts writes it). */
export type TimeseriesRow = SecondRow;

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

  add(s: { ts: string; source: string; host: string; metric: string; value: number; labels?: Record<string, string>; gap?: boolean; error?: string }): void {
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
      else this.gaps.set(k, { source: s.source, host: s.host, ...(labels.part ? { part: labels.part } : {}), count: 1, firstError: s.error ?? 'unknown' });
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

export interface LoadedResults {
  dir: string;
  manifest?: Manifest;
  summary?: RunSummary;
  k6?: { metrics: Record<string, K6Metric> };
  timeseries: TimeseriesRow[];
  acks: { count: number; firstMs?: number; lastMs?: number; byForm: Record<string, number> };
  liveness: Array<{ ackedAt: number; lagMs?: number }>;
  samples: SampleStore;
  /** Files that were not there (or not readable). */
  missing: string[];
  warnings: string[];
}

function readJsonFile<T>(file: string, missing: string[], warnings: string[]): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    missing.push(path.basename(file));
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    warnings.push(`${path.basename(file)} is not valid JSON (${(err as Error).message}); left out`);
    return undefined;
  }
}

async function* lines(file: string): AsyncGenerator<string> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of rl) if (line) yield line;
}

function exists(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Loads a results directory. Only a directory that does not exist (or holds none of the run files) is an error. */
export async function loadResults(dir: string): Promise<LoadedResults> {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`${dir}: no such results directory`);
  }
  if (!st.isDirectory()) throw new UserError(`${dir}: not a directory (give the results directory of a run)`);
  const known = ['manifest.json', 'summary.json', 'k6-summary.json', 'timeseries.csv', 'acks.ndjson', 'liveness.ndjson', 'samples.ndjson'];
  if (!known.some((f) => exists(path.join(dir, f)))) {
    throw new UserError(`${dir}: not a results directory (none of ${known.join(', ')})`);
  }
  const missing: string[] = [];
  const warnings: string[] = [];
  const manifest = readJsonFile<Manifest>(path.join(dir, 'manifest.json'), missing, warnings);
  const summary = readJsonFile<RunSummary>(path.join(dir, 'summary.json'), missing, warnings);
  const k6 = readJsonFile<{ metrics: Record<string, K6Metric> }>(path.join(dir, 'k6-summary.json'), missing, warnings);

  let timeseries: TimeseriesRow[] = [];
  const tsFile = path.join(dir, 'timeseries.csv');
  if (exists(tsFile)) timeseries = parseTimeseriesCsv(fs.readFileSync(tsFile, 'utf8')).filter((r) => r.endpoint !== 'none' || r.dropped > 0 || r.vus > 0);
  else missing.push('timeseries.csv');

  const acks: LoadedResults['acks'] = { count: 0, byForm: {} };
  const ackFile = path.join(dir, 'acks.ndjson');
  if (exists(ackFile)) {
    let bad = 0;
    for await (const line of lines(ackFile)) {
      // {"ack":"<id>","t":<ms>,"w":<worker>,"form":"<name>"}: fields read without a full parse (720k lines an hour)
      const t = /"t":(\d+)/.exec(line);
      const form = /"form":"([^"]*)"/.exec(line);
      if (!t) {
        bad++;
        continue;
      }
      const ms = Number(t[1]);
      acks.count++;
      if (acks.firstMs === undefined || ms < acks.firstMs) acks.firstMs = ms;
      if (acks.lastMs === undefined || ms > acks.lastMs) acks.lastMs = ms;
      const name = form?.[1] ?? 'unknown';
      acks.byForm[name] = (acks.byForm[name] ?? 0) + 1;
    }
    if (bad) warnings.push(`acks.ndjson: ${bad} lines without a time were skipped`);
  } else missing.push('acks.ndjson');

  const liveness: LoadedResults['liveness'] = [];
  const liveFile = path.join(dir, 'liveness.ndjson');
  if (exists(liveFile)) {
    for await (const line of lines(liveFile)) {
      try {
        const r = JSON.parse(line) as { ackedAt?: number; lagMs?: number | null };
        if (typeof r.ackedAt === 'number') liveness.push(typeof r.lagMs === 'number' ? { ackedAt: r.ackedAt, lagMs: r.lagMs } : { ackedAt: r.ackedAt });
      } catch {
        // a torn last line
      }
    }
  } else missing.push('liveness.ndjson');

  const samples = new SampleStore();
  const sampleFile = path.join(dir, 'samples.ndjson');
  if (exists(sampleFile)) {
    for await (const line of lines(sampleFile)) {
      try {
        samples.add(JSON.parse(line));
      } catch {
        samples.badLines++;
      }
    }
    if (samples.badLines) warnings.push(`samples.ndjson: ${samples.badLines} unreadable lines skipped`);
  } else missing.push('samples.ndjson');

  return { dir: path.resolve(dir), manifest, summary, k6, timeseries, acks, liveness, samples, missing, warnings };
}

// ---- series arithmetic ----------------------------------------------------------------------------------

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
