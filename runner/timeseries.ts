// Per-second time series from k6's CSV output: requests, failures and latency percentiles per endpoint,
// plus dropped iterations and VUs. Streams the (gzipped) CSV: memory holds one second at a time per endpoint.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parse } from 'csv-parse';

export interface SecondRow {
  second: number;
  endpoint: string;
  requests: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  dropped: number;
  vus: number;
}

export const TIMESERIES_HEADER = 'second,endpoint,requests,failed,p50_ms,p95_ms,p99_ms,max_ms,dropped_iterations,vus';

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface Bucket {
  requests: number;
  failed: number;
  durations: number[];
}

function endpointOf(extraTags: string): string {
  const m = /(?:^|&)endpoint=([^&]*)/.exec(extraTags);
  return m ? decodeURIComponent(m[1]!) : 'other';
}

/** Reads k6's CSV (plain or .gz) into per-second rows, sorted by second then endpoint. */
export async function aggregateK6Csv(file: string): Promise<SecondRow[]> {
  const buckets = new Map<string, Bucket>();
  const dropped = new Map<number, number>();
  const vus = new Map<number, number>();
  const input = fs.createReadStream(file);
  const stream = file.endsWith('.gz') ? input.pipe(zlib.createGunzip()) : input;
  const parser = stream.pipe(parse({ columns: true, relax_column_count: true, skip_empty_lines: true }));
  for await (const rec of parser as AsyncIterable<Record<string, string>>) {
    const name = rec.metric_name;
    const second = Math.floor(Number(rec.timestamp));
    if (!Number.isFinite(second)) continue;
    const value = Number(rec.metric_value);
    if (name === 'dropped_iterations') {
      dropped.set(second, (dropped.get(second) ?? 0) + value);
      continue;
    }
    if (name === 'vus') {
      vus.set(second, Math.max(vus.get(second) ?? 0, value));
      continue;
    }
    if (name !== 'http_req_duration' && name !== 'http_req_failed') continue;
    const key = `${second}\t${endpointOf(rec.extra_tags ?? '')}`;
    let b = buckets.get(key);
    if (!b) {
      b = { requests: 0, failed: 0, durations: [] };
      buckets.set(key, b);
    }
    if (name === 'http_req_duration') {
      b.requests++;
      b.durations.push(value);
    } else if (value === 1) {
      b.failed++;
    }
  }
  const rows: SecondRow[] = [];
  const seconds = new Set<number>([...dropped.keys(), ...vus.keys()]);
  for (const [key, b] of buckets) {
    const [s, endpoint] = key.split('\t') as [string, string];
    seconds.delete(Number(s));
    const sorted = b.durations.sort((a, c) => a - c);
    rows.push({ second: Number(s), endpoint, requests: b.requests, failed: b.failed, p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0,
      dropped: dropped.get(Number(s)) ?? 0, vus: vus.get(Number(s)) ?? 0 });
  }
  // seconds with no request at all still carry VUs and dropped iterations
  for (const s of seconds) rows.push({ second: s, endpoint: 'none', requests: 0, failed: 0, p50: 0, p95: 0, p99: 0, max: 0, dropped: dropped.get(s) ?? 0, vus: vus.get(s) ?? 0 });
  rows.sort((a, b) => a.second - b.second || a.endpoint.localeCompare(b.endpoint));
  // dropped/vus are per second: report them once (on the first endpoint row of the second)
  let last = -1;
  for (const r of rows) {
    if (r.second === last) {
      r.dropped = 0;
    }
    last = r.second;
  }
  return rows;
}

export function timeseriesCsv(rows: SecondRow[]): string {
  const f = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  return [TIMESERIES_HEADER, ...rows.map((r) => [r.second, r.endpoint, r.requests, r.failed, f(r.p50), f(r.p95), f(r.p99), f(r.max), r.dropped, r.vus].join(','))].join('\n') + '\n';
}

export interface StepResult {
  rate: number;
  startSecond: number;
  requests: number;
  achievedPerSec: number;
  failedRate: number;
  p95: number;
  dropped: number;
  sustained: boolean;
}

/**
 * ramp-to-break: per step of the arrival rate, what the target achieved. A step is sustained when its p95 and
 * failure rate are within the limits and it dropped (almost) no iterations.
 */
export function rampSteps(rows: SecondRow[], startSecond: number, steps: number[], stepS: number, limits: { p95Ms: number; failedRate: number }): StepResult[] {
  const out: StepResult[] = [];
  steps.forEach((rate, i) => {
    // skip the 2 s ramp into each step
    const from = startSecond + i * stepS + 2;
    const to = startSecond + (i + 1) * stepS;
    const inStep = rows.filter((r) => r.second >= from && r.second < to && r.endpoint === 'receiver');
    const all = rows.filter((r) => r.second >= from && r.second < to);
    if (inStep.length === 0) return;
    const requests = inStep.reduce((s, r) => s + r.requests, 0);
    const failed = inStep.reduce((s, r) => s + r.failed, 0);
    const dropped = all.reduce((s, r) => s + r.dropped, 0);
    // The step's p95: the median of its per-second p95s (one slow second does not decide a step).
    const p95s = inStep.map((r) => r.p95).sort((a, b) => a - b);
    const p95 = quantile(p95s, 0.5);
    const seconds = Math.max(1, to - from);
    const failedRate = requests ? failed / requests : 1;
    out.push({ rate, startSecond: from, requests, achievedPerSec: requests / seconds, failedRate, p95, dropped,
      sustained: p95 < limits.p95Ms && failedRate <= limits.failedRate && dropped <= 0.01 * rate * seconds });
  });
  return out;
}

/** ramp-to-break's account: each step, and the highest rate sustained before the first step that broke. */
export function rampToBreakSummary(rows: SecondRow[], firstSecond: number, steps: number[], stepS: number,
  limits: { p95Ms: number; failedRate: number }): { steps: StepResult[]; highestSustainedRate: number | null } {
  // stages start with the first request (k6 starts the executor at once)
  const firstRequest = rows.find((r) => r.endpoint === 'receiver')?.second ?? firstSecond;
  const results = rampSteps(rows, firstRequest, steps, stepS, limits);
  let highest: number | null = null;
  for (const st of results) {
    if (!st.sustained) break;
    highest = st.rate;
  }
  return { steps: results, highestSustainedRate: highest };
}
