// The short account of a run: what was offered, what the target did, whether the thresholds held.
import { acceptanceThreshold, type ShapeParams } from '../scenarios/lib/shapes.ts';
import { quantile } from '../core/stats.ts';
import type { EndpointStats, K6SummaryExport, RunSummary, SecondRow } from '../results-dir/index.ts';

/**
 * k6's --summary-export marks each threshold expression with `true` when it FAILED (its "failed" flag).
 */
export function thresholdResults(summary: K6SummaryExport | undefined): RunSummary['thresholds'] {
  const out: RunSummary['thresholds'] = [];
  for (const [metric, m] of Object.entries(summary?.metrics ?? {})) {
    for (const [expression, failed] of Object.entries(m.thresholds ?? {})) out.push({ metric, expression, ok: !failed });
  }
  return out.sort((a, b) => a.metric.localeCompare(b.metric));
}

/**
 * A run's thresholds: k6's (from its summary export) and the submissions' acceptance, which the runner holds on the
 * request log (HQ's success answers among all submissions; none when no submission was sent).
 */
export function runThresholds(
  k6sum: K6SummaryExport | undefined,
  submissions: { sent: number; accepted: number },
  shape: ShapeParams,
): RunSummary['thresholds'] {
  const out = thresholdResults(k6sum);
  if (submissions.sent) {
    const t = acceptanceThreshold(shape);
    out.push({ metric: t.metric, expression: t.expression, ok: submissions.accepted / submissions.sent > t.min });
  }
  return out.sort((a, b) => a.metric.localeCompare(b.metric));
}

/** Per endpoint: requests and failures from the per-second rows, percentiles from every request's duration. */
export function endpointStats(rows: SecondRow[], durations: Map<string, number[]>): Record<string, EndpointStats> {
  const out: Record<string, EndpointStats> = {};
  const endpoints = new Set(rows.map((r) => r.endpoint).filter((e) => e !== 'none'));
  for (const e of endpoints) {
    const mine = rows.filter((r) => r.endpoint === e);
    const sorted = durations.get(e) ?? [];
    out[e] = {
      count: mine.reduce((s, r) => s + r.requests, 0),
      failed: mine.reduce((s, r) => s + r.failed, 0),
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? 0,
    };
  }
  return out;
}

export function livenessStats(lags: number[], neverSearchable: number): RunSummary['liveness'] {
  const sorted = [...lags].sort((a, b) => a - b);
  return {
    followed: lags.length + neverSearchable,
    searchable: lags.length,
    neverSearchable,
    ...(sorted.length ? { p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95), maxMs: sorted[sorted.length - 1] } : {}),
  };
}

const ms = (n: number | undefined) => (n === undefined ? '-' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

export function formatSummary(s: RunSummary): string {
  const lines: string[] = [];
  lines.push(`${s.scenario} against ${s.target}: ${s.outcome.toUpperCase()} (${s.message})`);
  lines.push(
    `  ran ${s.durationS.toFixed(0)} s; ${s.requests} requests, ${s.failedRequests} failed (${(s.failedRate * 100).toFixed(2)} %)`,
  );
  lines.push(
    `  forms acknowledged: ${s.acknowledged} (${s.acknowledgedPerSec.toFixed(1)}/s); dropped iterations: ${s.droppedIterations}${s.corpusExhausted ? `; corpus ran out ${s.corpusExhausted} times` : ''}`,
  );
  if (s.requestsNotLogged)
    lines.push(
      `  ${s.requestsNotLogged} requests have no line in the request log (k6 stopped before writing them): the figures and acks.ndjson (and an audit of it) miss them`,
    );
  for (const [e, st] of Object.entries(s.endpoints)) {
    lines.push(
      `  ${e.padEnd(9)} n=${st.count} failed=${st.failed} p50=${ms(st.p50)} p95=${ms(st.p95)} p99=${ms(st.p99)} max=${ms(st.max)}`,
    );
  }
  const l = s.liveness;
  lines.push(
    l.followed
      ? `  data liveness (ack -> searchable in xforms), ${l.searchable}/${l.followed} followed forms: p50=${ms(l.p50Ms)} p95=${ms(l.p95Ms)} max=${ms(l.maxMs)}${l.neverSearchable ? `, ${l.neverSearchable} never searchable` : ''}`
      : '  data liveness: not followed',
  );
  if (s.rampToBreak) {
    for (const st of s.rampToBreak.steps) {
      lines.push(
        `  step ${String(st.rate).padStart(5)}/s: achieved ${st.achievedPerSec.toFixed(1)}/s p95=${ms(st.p95)} failed=${(st.failedRate * 100).toFixed(1)} % dropped=${st.dropped} ${st.sustained ? 'sustained' : 'BROKEN'}`,
      );
    }
    lines.push(`  highest rate sustained: ${s.rampToBreak.highestSustainedRate ?? 'none'} submissions/s`);
  }
  for (const t of s.thresholds) lines.push(`  threshold ${t.ok ? 'ok  ' : 'FAIL'} ${t.metric} ${t.expression}`);
  return lines.join('\n');
}

/** A summary's request and acknowledgement figures: requests and failures from its endpoints, rates over durationS. */
export function throughput(
  endpoints: Record<string, EndpointStats>,
  acknowledged: number,
  durationS: number,
): Pick<RunSummary, 'requests' | 'failedRequests' | 'failedRate' | 'acknowledged' | 'acknowledgedPerSec'> {
  const requests = Object.values(endpoints).reduce((s, e) => s + e.count, 0);
  const failedRequests = Object.values(endpoints).reduce((s, e) => s + e.failed, 0);
  return {
    requests,
    failedRequests,
    failedRate: requests ? failedRequests / requests : 0,
    acknowledged,
    acknowledgedPerSec: durationS ? acknowledged / durationS : 0,
  };
}
