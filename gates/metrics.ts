// The figures a gate compares, read from a results directory: throughput, latency percentiles per endpoint,
// error rate, pillow lag (from the collectors' samples) and data liveness (from the followed forms).
import os from 'node:os';
import { UserError } from '../core/errors.ts';
import { quantile } from '../core/stats.ts';
import { RESULT_FILES, ResultsDir, type LivenessRecord, type RunManifest, type RunSummary, type Sample } from '../results-dir/index.ts';

export type Better = 'higher' | 'lower';
export type Unit = 'per_s' | 'ms' | 's' | 'ratio' | 'messages';

export interface MetricValue {
  value: number;
  unit: Unit;
  better: Better;
  /** How the figure was obtained, for the report (e.g. "max over 60 ticks"). */
  detail?: string;
}

/** What a run was asked to do: compared between a baseline and a run to warn about apples and oranges. */
export interface RunParameters {
  scenario: string;
  targetKind: string;
  parameters: Record<string, unknown>;
  segment?: { index: number; count: number };
  versions?: Record<string, unknown>;
}

export interface Environment {
  cpus: number;
  cpuModel: string;
  memGiB: number;
  platform: string;
}

export interface MeasuredRun {
  dir: string;
  run: RunParameters;
  outcome: RunSummary['outcome'];
  message: string;
  startedAt: string;
  metrics: Record<string, MetricValue>;
}

export function currentEnvironment(): Environment {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()}-${os.arch()}`,
  };
}

/** Run parameters that matter when comparing (the seed and derived figures do not). */
export function runParameters(m: RunManifest): RunParameters {
  const { seed: _seed, plannedSeconds: _ps, plannedSubmissions: _pn, ...rest } = m.parameters ?? {};
  return { scenario: m.scenario, targetKind: m.target?.kind ?? 'unknown', parameters: rest, segment: m.segment, versions: m.versions };
}

/** Pillow lag per pillow: the highest offset lag and time lag any tick saw (gaps are unknown, never zero). */
export function pillowLag(
  samples: Pick<Sample, 'source' | 'metric' | 'value' | 'labels' | 'gap'>[],
): Record<string, { offsetMax?: number; timeMaxS?: number; ticks: number }> {
  const out: Record<string, { offsetMax?: number; timeMaxS?: number; ticks: number }> = {};
  for (const s of samples) {
    if (s.source !== 'pillows' || s.gap || !Number.isFinite(s.value)) continue;
    const pillow = s.labels?.pillow;
    if (!pillow) continue;
    if (s.metric === 'offset_lag_total') {
      const p = (out[pillow] ??= { ticks: 0 });
      p.offsetMax = Math.max(p.offsetMax ?? 0, s.value);
      p.ticks++;
    } else if (s.metric === 'time_lag_max_s') {
      const p = (out[pillow] ??= { ticks: 0 });
      p.timeMaxS = Math.max(p.timeMaxS ?? 0, s.value);
    }
  }
  return out;
}

export function livenessFigures(records: Pick<LivenessRecord, 'lagMs'>[]): {
  followed: number;
  searchable: number;
  p50Ms?: number;
  p95Ms?: number;
} {
  const lags = records
    .map((r) => r.lagMs)
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    .sort((a, b) => a - b);
  return {
    followed: records.length,
    searchable: lags.length,
    ...(lags.length ? { p50Ms: quantile(lags, 0.5), p95Ms: quantile(lags, 0.95) } : {}),
  };
}

/** Reads the gate's figures from a finished results directory; bad or missing input is a UserError (exit 2). */
export function measureRun(dir: string): MeasuredRun {
  const results = ResultsDir.open(dir);
  const manifest = results.manifest();
  if (!manifest) throw new UserError(`results directory: cannot read ${results.path('manifest')}`);
  const summary = results.summary();
  if (!summary) throw new UserError(`${dir}: no ${RESULT_FILES.summary} (run status "${manifest.status}"): not a finished run`);
  if (typeof summary.acknowledgedPerSec !== 'number' || typeof summary.endpoints !== 'object') {
    throw new UserError(`${dir}/${RESULT_FILES.summary}: not a run summary`);
  }
  const metrics: Record<string, MetricValue> = {};
  metrics['throughput.acknowledged_per_s'] = {
    value: summary.acknowledgedPerSec,
    unit: 'per_s',
    better: 'higher',
    detail: `${summary.acknowledged} acknowledged in ${summary.durationS} s`,
  };
  for (const [endpoint, e] of Object.entries(summary.endpoints)) {
    if (!e.count) continue;
    for (const q of ['p50', 'p95', 'p99'] as const) {
      metrics[`latency.${endpoint}.${q}`] = { value: e[q], unit: 'ms', better: 'lower', detail: `${e.count} requests` };
    }
  }
  metrics.error_rate = {
    value: summary.failedRate,
    unit: 'ratio',
    better: 'lower',
    detail: `${summary.failedRequests} of ${summary.requests} requests failed`,
  };

  const samples = results.ndjson<Sample>('samples');
  for (const [pillow, p] of Object.entries(pillowLag(samples))) {
    if (p.offsetMax !== undefined)
      metrics[`pillow.${pillow}.offset_lag_max`] = {
        value: p.offsetMax,
        unit: 'messages',
        better: 'lower',
        detail: `max over ${p.ticks} ticks`,
      };
    if (p.timeMaxS !== undefined)
      metrics[`pillow.${pillow}.time_lag_max_s`] = { value: p.timeMaxS, unit: 's', better: 'lower', detail: `max over ${p.ticks} ticks` };
  }

  const live = livenessFigures(results.ndjson<LivenessRecord>('liveness'));
  if (live.followed) {
    const detail = `${live.searchable}/${live.followed} followed forms searchable`;
    if (live.p50Ms !== undefined) metrics['liveness.p50_ms'] = { value: live.p50Ms, unit: 'ms', better: 'lower', detail };
    if (live.p95Ms !== undefined) metrics['liveness.p95_ms'] = { value: live.p95Ms, unit: 'ms', better: 'lower', detail };
    metrics['liveness.never_searchable_rate'] = {
      value: (live.followed - live.searchable) / live.followed,
      unit: 'ratio',
      better: 'lower',
      detail,
    };
  }
  return {
    dir,
    run: runParameters(manifest),
    outcome: summary.outcome,
    message: summary.message,
    startedAt: manifest.startedAt ?? summary.startedAt,
    metrics,
  };
}

const num = (v: number, digits: number) => (Number.isInteger(v) ? String(v) : v.toFixed(digits));

/** A figure in its unit, for people. */
export function formatValue(v: number | undefined, unit: Unit): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  switch (unit) {
    case 'ms':
      return v >= 10_000 ? `${Number((v / 1000).toFixed(1))} s` : `${Number(v.toFixed(1))} ms`;
    case 's':
      return `${Number(v.toFixed(2))} s`;
    case 'per_s':
      return `${num(v, 2)}/s`;
    case 'ratio':
      return `${num(v * 100, 2)} %`;
    case 'messages':
      return `${num(v, 0)} msgs`;
  }
}
