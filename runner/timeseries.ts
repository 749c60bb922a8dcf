// Per-second time series from the request log (results/request-log.ts): requests, failures and latency percentiles
// per endpoint, plus dropped iterations and VUs as k6 reported them each second (runner/k6progress.ts).
import { quantile } from '../core/stats.ts';
import { readRequestLog, type RequestLine, type StepResult, type ProgressPoint, type SecondRow } from '../results-dir/index.ts';

export interface Aggregate {
  rows: SecondRow[];
  /** every request's duration per endpoint, sorted (exact percentiles for the summary) */
  durations: Map<string, number[]>;
  /** request lines read, and submissions (receiver) sent and accepted */
  requests: number;
  submissions: { sent: number; accepted: number };
}

/**
 * Per-second rows, sorted by second then endpoint, from the request log and k6's progress. A request failed when its
 * check failed (no answer, an error status, or an answer that is not what HQ says on success).
 */
export async function aggregateRequests(
  lines: AsyncIterable<RequestLine> | Iterable<RequestLine>,
  progress: ProgressPoint[] = [],
): Promise<Aggregate> {
  const buckets = new Map<string, { requests: number; failed: number; durations: number[] }>();
  const durations = new Map<string, number[]>();
  const submissions = { sent: 0, accepted: 0 };
  let requests = 0;
  for await (const r of lines) {
    requests++;
    if (r.e === 'receiver') {
      submissions.sent++;
      if (r.ok) submissions.accepted++;
    }
    const second = Math.floor(r.t / 1000);
    const key = `${second}\t${r.e}`;
    let b = buckets.get(key);
    if (!b) {
      b = { requests: 0, failed: 0, durations: [] };
      buckets.set(key, b);
    }
    b.requests++;
    if (!r.ok) b.failed++;
    b.durations.push(r.d);
    let all = durations.get(r.e);
    if (!all) durations.set(r.e, (all = []));
    all.push(r.d);
  }
  for (const d of durations.values()) d.sort((a, c) => a - c);
  // k6's dropped iterations as a count per second (its progress gives the total so far)
  const dropped = new Map<number, number>();
  const vus = new Map<number, number>();
  let before = 0;
  for (const p of [...progress].sort((a, c) => a.second - c.second)) {
    dropped.set(p.second, (dropped.get(p.second) ?? 0) + Math.max(0, p.droppedTotal - before));
    before = Math.max(before, p.droppedTotal);
    vus.set(p.second, Math.max(vus.get(p.second) ?? 0, p.vus));
  }
  const rows: SecondRow[] = [];
  const seconds = new Set<number>([...dropped.keys(), ...vus.keys()]);
  for (const [key, b] of buckets) {
    const [s, endpoint] = key.split('\t') as [string, string];
    seconds.delete(Number(s));
    const sorted = b.durations.sort((a, c) => a - c);
    rows.push({
      second: Number(s),
      endpoint,
      requests: b.requests,
      failed: b.failed,
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? 0,
      dropped: dropped.get(Number(s)) ?? 0,
      vus: vus.get(Number(s)) ?? 0,
    });
  }
  // seconds with no request at all still carry VUs and dropped iterations
  for (const s of seconds)
    rows.push({
      second: s,
      endpoint: 'none',
      requests: 0,
      failed: 0,
      p50: 0,
      p95: 0,
      p99: 0,
      max: 0,
      dropped: dropped.get(s) ?? 0,
      vus: vus.get(s) ?? 0,
    });
  rows.sort((a, b) => a.second - b.second || a.endpoint.localeCompare(b.endpoint));
  // dropped/vus are per second: report them once (on the first endpoint row of the second)
  let last = -1;
  for (const r of rows) {
    if (r.second === last) r.dropped = 0;
    last = r.second;
  }
  return { rows, durations, requests, submissions };
}

/** aggregateRequests over a request log file. */
export function aggregateRequestLog(file: string, progress: ProgressPoint[] = []): Promise<Aggregate> {
  return aggregateRequests(readRequestLog(file), progress);
}

/**
 * The dropped iterations and VUs of runs' time series, as k6 progress: per run and second, its dropped iterations
 * and its VUs (on each endpoint's row alike); runs side by side (segments) add up.
 */
export function progressOfRuns(runs: SecondRow[][]): ProgressPoint[] {
  const total = new Map<number, { dropped: number; vus: number }>();
  for (const rows of runs) {
    const mine = new Map<number, { dropped: number; vus: number }>();
    for (const r of rows) {
      const p = mine.get(r.second) ?? { dropped: 0, vus: 0 };
      p.dropped += r.dropped;
      p.vus = Math.max(p.vus, r.vus);
      mine.set(r.second, p);
    }
    for (const [second, p] of mine) {
      const q = total.get(second) ?? { dropped: 0, vus: 0 };
      total.set(second, { dropped: q.dropped + p.dropped, vus: q.vus + p.vus });
    }
  }
  let dropped = 0;
  return [...total.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, p]) => ({ second, droppedTotal: (dropped += p.dropped), vus: p.vus }));
}

/**
 * ramp-to-break: per step of the arrival rate, what the target achieved. A step is sustained when its p95 and
 * failure rate are within the limits, it dropped (almost) no iterations, and it ran to its end: k6 stops the ramp
 * when a threshold breaks, so the step it stopped in was not held (its rate over the whole step only looks low).
 */
export function rampSteps(
  rows: SecondRow[],
  startSecond: number,
  steps: number[],
  stepS: number,
  limits: { p95Ms: number; failedRate: number },
): StepResult[] {
  const out: StepResult[] = [];
  const lastSecond = rows.reduce((m, r) => Math.max(m, r.second), -Infinity);
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
    const ranToEnd = lastSecond >= to - 2; // the last second or so of a step may fall after k6's final flush
    out.push({
      rate,
      startSecond: from,
      requests,
      achievedPerSec: requests / seconds,
      failedRate,
      p95,
      dropped,
      sustained: ranToEnd && p95 < limits.p95Ms && failedRate <= limits.failedRate && dropped <= 0.01 * rate * seconds,
    });
  });
  return out;
}

/** ramp-to-break's account: each step, and the highest rate sustained before the first step that broke. */
export function rampToBreakSummary(
  rows: SecondRow[],
  firstSecond: number,
  steps: number[],
  stepS: number,
  limits: { p95Ms: number; failedRate: number },
): { steps: StepResult[]; highestSustainedRate: number | null } {
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
