// timeseries.csv: one row per second and endpoint, read by its header's names; and k6-progress.ndjson's points.

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

/** What k6 said at one second of the run: its dropped iterations so far and its VUs. */
export interface ProgressPoint {
  second: number;
  droppedTotal: number;
  vus: number;
}

/** Rows of a timeseries.csv (timeseriesCsv's columns, found by the header's names; a column missing reads 0). */
export function parseTimeseriesCsv(text: string): SecondRow[] {
  const rows: SecondRow[] = [];
  const all = text.split('\n');
  const header = all[0]?.trim().split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  const idx = {
    second: col('second'),
    endpoint: col('endpoint'),
    requests: col('requests'),
    failed: col('failed'),
    p50: col('p50_ms'),
    p95: col('p95_ms'),
    p99: col('p99_ms'),
    max: col('max_ms'),
    dropped: col('dropped_iterations'),
    vus: col('vus'),
  };
  if (idx.second < 0 || idx.endpoint < 0) return rows;
  for (let i = 1; i < all.length; i++) {
    const line = all[i]!.trim();
    if (!line) continue;
    const f = line.split(',');
    const n = (k: keyof typeof idx) => (idx[k] >= 0 ? Number(f[idx[k]]) || 0 : 0);
    rows.push({
      second: n('second'),
      endpoint: f[idx.endpoint]!,
      requests: n('requests'),
      failed: n('failed'),
      p50: n('p50'),
      p95: n('p95'),
      p99: n('p99'),
      max: n('max'),
      dropped: n('dropped'),
      vus: n('vus'),
    });
  }
  return rows;
}

export function timeseriesCsv(rows: SecondRow[]): string {
  const f = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  return (
    [
      TIMESERIES_HEADER,
      ...rows.map((r) => [r.second, r.endpoint, r.requests, r.failed, f(r.p50), f(r.p95), f(r.p99), f(r.max), r.dropped, r.vus].join(',')),
    ].join('\n') + '\n'
  );
}
