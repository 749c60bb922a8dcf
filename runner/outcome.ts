// The run's verdict once k6 has finished: the summary, read back from the request log and k6's own summary.
import { abortThreshold, breakSteps, type ShapeParams } from '../scenarios/lib/shapes.ts';
import type { ResultsDir, RunSummary, SecondRow } from '../results-dir/index.ts';
import { K6_EXIT } from './k6.ts';
import { endpointStats, livenessStats, runThresholds, throughput } from './summary.ts';
import { rampToBreakSummary } from './timeseries.ts';

/** A target stopping mid-run: the second from which (nearly) every request failed until the end. */
export function failingSince(rows: SecondRow[]): number | undefined {
  const perSecond = new Map<number, { req: number; failed: number }>();
  for (const r of rows) {
    const s = perSecond.get(r.second) ?? { req: 0, failed: 0 };
    s.req += r.requests;
    s.failed += r.failed;
    perSecond.set(r.second, s);
  }
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  let since: number | undefined;
  for (const s of seconds) {
    const v = perSecond.get(s)!;
    if (v.req === 0) continue;
    if (v.failed / v.req >= 0.9) since ??= s;
    else since = undefined;
  }
  return since;
}

export interface OutcomeInput {
  results: ResultsDir;
  scenario: RunSummary['scenario'];
  target: string;
  startedAt: string;
  shape: ShapeParams;
  rows: SecondRow[];
  durations: Map<string, number[]>;
  /** request lines read from the request log */
  logged: number;
  submissions: { sent: number; accepted: number };
  lagsMs: number[];
  k6: { exitCode: number; interrupted: boolean };
}

export function runOutcome(i: OutcomeInput): RunSummary {
  const k6sum = i.results.k6Summary();
  const endpoints = endpointStats(i.rows, i.durations);
  const thresholds = runThresholds(k6sum, i.submissions, i.shape);
  const firstSecond = i.rows.length ? i.rows[0]!.second : 0;
  const lastSecond = i.rows.length ? i.rows[i.rows.length - 1]!.second : 0;
  const durationS = i.rows.length ? lastSecond - firstSecond + 1 : 0;
  // k6 stopped early (Ctrl-C, a threshold's abort) before some VUs wrote their last batch of the request log
  const notLogged = Math.max(0, Number(k6sum?.metrics.http_reqs?.count ?? 0) - i.logged);
  const neverSearchable = (i.results.readText('liveness') ?? '').split('\n').filter((l) => l && !l.includes('searchableAt')).length;
  const k6Log = i.results.path('k6Log');
  const summary: RunSummary = {
    scenario: i.scenario,
    target: i.target,
    startedAt: i.startedAt,
    endedAt: new Date().toISOString(),
    durationS,
    ...throughput(endpoints, i.submissions.accepted, durationS),
    ...(notLogged ? { requestsNotLogged: notLogged } : {}),
    droppedIterations: Number(k6sum?.metrics.dropped_iterations?.count ?? 0),
    corpusExhausted: Number(k6sum?.metrics.corpus_exhausted?.count ?? 0),
    endpoints,
    thresholds,
    thresholdsPassed: thresholds.every((t) => t.ok),
    liveness: livenessStats(i.lagsMs, neverSearchable),
    k6ExitCode: i.k6.exitCode,
    interrupted: i.k6.interrupted,
    outcome: 'passed',
    message: '',
  };
  if (i.scenario === 'ramp-to-break' && i.rows.length) {
    summary.rampToBreak = rampToBreakSummary(i.rows, firstSecond, breakSteps(i.shape), i.shape.stepS, {
      p95Ms: i.shape.writeP95Ms,
      failedRate: i.shape.failedRate,
    });
  }
  const dead = failingSince(i.rows);
  const verdict = (outcome: RunSummary['outcome'], message: string) => Object.assign(summary, { outcome, message });
  // k6 stopped the run once too many requests failed (--abort-failed), so a broken run did not go on loading the target
  const abort = abortThreshold(i.shape).threshold;
  const aborted = thresholds.some((t) => t.metric === 'http_req_failed' && t.expression === abort && !t.ok)
    ? `; k6 stopped the run early: over ${+(i.shape.abortFailedRate * 100).toFixed(2)} % of requests had failed (--abort-failed)`
    : '';
  if (i.k6.interrupted) return verdict('interrupted', 'stopped by the user; partial results kept');
  if (summary.requests === 0) return verdict('failed', `k6 sent no request (exit ${i.k6.exitCode}); see ${k6Log}`);
  if (dead !== undefined) {
    return verdict(
      'failed',
      `the target stopped answering ${dead - firstSecond} s into the run (nearly every request failed from then on)${aborted}; partial results kept`,
    );
  }
  if (aborted) return verdict('failed', `${aborted.slice(2)}; partial results kept`);
  if (i.scenario === 'ramp-to-break') {
    return verdict(
      summary.rampToBreak?.highestSustainedRate ? 'passed' : 'thresholds-failed',
      `highest rate sustained: ${summary.rampToBreak?.highestSustainedRate ?? 'none'}/s`,
    );
  }
  if (!summary.thresholdsPassed || i.k6.exitCode === K6_EXIT.thresholdsFailed) {
    return verdict('thresholds-failed', `${thresholds.filter((t) => !t.ok).length} threshold(s) failed`);
  }
  if (i.k6.exitCode !== 0) return verdict('failed', `k6 exited ${i.k6.exitCode}; see ${k6Log}`);
  return verdict('passed', 'all thresholds held');
}
