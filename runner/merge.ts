// `capacity merge`: the results directories of the segments of one scenario (`capacity run --segment i/N` on
// several machines) joined into one results directory, so gates and reports are made once. Counts are summed;
// request durations' percentiles are recomputed from the request logs (never averaged); acks and liveness are
// concatenated; the collectors' samples keep one view of each system.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../core/errors.ts';
import { breakSteps } from '../scenarios/lib/shapes.ts';
import {
  RESULT_FILES,
  RESULTS_FORMAT,
  ResultsDir,
  type AckRecord,
  type LivenessRecord,
  type RunManifest,
  type K6SummaryExport,
  type RunSummary,
  readRequestLog,
  tagOf,
  parseTimeseriesCsv,
  timeseriesCsv,
  type ProgressPoint,
} from '../results-dir/index.ts';
import { endpointStats, formatSummary, livenessStats, runThresholds, throughput } from './summary.ts';
import { aggregateRequestLog, progressOfRuns, rampToBreakSummary } from './timeseries.ts';
import { quantile } from '../core/stats.ts';

interface SegmentDir {
  dir: string;
  results: ResultsDir;
  manifest: RunManifest;
  summary: RunSummary;
}

export interface MergeOptions {
  dirs: string[];
  out: string;
  /** Merge even when some segments of the sequence are missing (the figures then cover only part of the load). */
  allowPartial?: boolean;
  log?: (m: string) => void;
}

export interface MergeOutcome {
  dir: string;
  summary: RunSummary;
  warnings: string[];
}

function loadSegment(dir: string): SegmentDir {
  const results = ResultsDir.open(dir);
  const manifest = results.manifest();
  if (!manifest) throw new UserError(`${dir}: no ${RESULT_FILES.manifest}`);
  const summary = results.summary();
  if (manifest.status !== 'finished' || !summary) {
    throw new UserError(`${dir}: the run did not finish (status "${manifest.status}"); only finished segments can be merged`);
  }
  return { dir, results, manifest, summary };
}

const stable = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));

/** The segments must be slices of one scenario: same parameters and corpus, one segment sequence, no repeats. */
export function checkSegments(segs: SegmentDir[], allowPartial = false): string[] {
  const warnings: string[] = [];
  if (segs.length === 0) throw new UserError('capacity merge needs at least one results directory');
  const first = segs[0]!;
  for (const s of segs) {
    if (!s.manifest.segment)
      throw new UserError(`${s.dir}: not a segment (made without --segment); only segments of one scenario can be merged`);
    if (s.manifest.scenario !== first.manifest.scenario)
      throw new UserError(`${s.dir}: scenario ${s.manifest.scenario}, but ${first.dir} is ${first.manifest.scenario}`);
    const a = { ...first.manifest.parameters };
    const b = { ...s.manifest.parameters };
    if (stable(a) !== stable(b))
      throw new UserError(
        `${s.dir}: made with other parameters than ${first.dir} (scenario shape, users, app, seed or domain differ); segments must share them`,
      );
    if (s.manifest.segment.executionSegmentSequence !== first.manifest.segment!.executionSegmentSequence) {
      throw new UserError(
        `${s.dir}: segment ${s.manifest.segment.index}/${s.manifest.segment.count} is not of the same sequence as ${first.dir} (${first.manifest.segment!.index}/${first.manifest.segment!.count})`,
      );
    }
    if (s.manifest.target.baseUrl !== first.manifest.target.baseUrl)
      warnings.push(`${s.dir} loaded ${s.manifest.target.baseUrl}, ${first.dir} loaded ${first.manifest.target.baseUrl}`);
  }
  const count = first.manifest.segment!.count;
  const seen = new Map<number, string>();
  for (const s of segs) {
    const other = seen.get(s.manifest.segment!.index);
    if (other) throw new UserError(`segment ${s.manifest.segment!.index}/${count} given twice: ${other} and ${s.dir}`);
    seen.set(s.manifest.segment!.index, s.dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) {
    const text = `segment${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing: the merged figures cover only part of the scenario`;
    if (!allowPartial) throw new UserError(`${text} (--allow-partial to merge anyway)`);
    warnings.push(text);
  }
  return warnings;
}

/** Appends the segments' request logs into one file. */
async function concatFiles(inputs: string[], out: string): Promise<void> {
  fs.writeFileSync(out, '');
  for (const file of inputs) {
    if (!fs.existsSync(file)) continue;
    await pipeline(fs.createReadStream(file), fs.createWriteStream(out, { flags: 'a' }));
  }
}

type K6Metric = K6SummaryExport['metrics'][string];

/** `http_req_duration{endpoint:receiver}` -> name and tag filters. */
function parseMetricKey(key: string): { name: string; tags: [string, string][] } {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
  const tags: [string, string][] = [];
  for (const part of (m?.[2] ?? '').split(',').filter(Boolean)) {
    const i = part.indexOf(':');
    tags.push([part.slice(0, i).trim(), part.slice(i + 1).trim()]);
  }
  return { name: m?.[1] ?? key, tags };
}

function isTrend(m: K6Metric): boolean {
  return typeof m.med === 'number' || typeof m['p(95)'] === 'number' || typeof m.avg === 'number';
}

/**
 * Every request duration of each http_req_duration metric and sub-metric ({endpoint:restore}...) in the merged
 * request log: their percentiles are recomputed from these. Other trends (k6's timing breakdown, iteration
 * durations) are not in the request log: undefined for them.
 */
async function trendValues(requestLog: string, keys: string[]): Promise<Map<string, number[]>> {
  const wanted = keys.map((k) => ({ key: k, ...parseMetricKey(k) })).filter((w) => w.name === 'http_req_duration');
  const values = new Map<string, number[]>(wanted.map((w) => [w.key, []]));
  for await (const r of readRequestLog(requestLog)) {
    for (const w of wanted) if (w.tags.every(([t, v]) => tagOf(r, t) === v)) values.get(w.key)!.push(r.d);
  }
  return values;
}

/** A trend that only the segments' summaries describe: min and max exact, the rest the highest of the segments' (an upper bound). */
function boundTrend(parts: K6Metric[]): K6Metric {
  const m: K6Metric = {};
  for (const k of ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max']) m[k] = Math.max(...parts.map((p) => (p[k] as number) ?? 0));
  m.min = Math.min(...parts.map((p) => (p.min as number) ?? 0));
  return m;
}

function trendOf(values: number[]): K6Metric {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return { avg: 0, min: 0, med: 0, max: 0, 'p(90)': 0, 'p(95)': 0, 'p(99)': 0 };
  return {
    avg: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0]!,
    med: quantile(s, 0.5),
    max: s[s.length - 1]!,
    'p(90)': quantile(s, 0.9),
    'p(95)': quantile(s, 0.95),
    'p(99)': quantile(s, 0.99),
  };
}

/** Re-evaluates a threshold expression (p(95)<900, rate<0.001, count>0, avg<=100...) on a merged metric: true when it FAILED. */
export function thresholdFailed(expr: string, m: K6Metric): boolean | undefined {
  const e = /^\s*(p\(\d+(?:\.\d+)?\)|rate|count|avg|min|max|med|value)\s*(<=|>=|==|===|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expr);
  if (!e) return undefined;
  let v = m[e[1]!] as number | undefined;
  if (v === undefined && e[1] === 'rate' && typeof m.value === 'number') v = m.value;
  if (typeof v !== 'number') return undefined;
  const n = Number(e[3]);
  const ok =
    e[2] === '<' ? v < n : e[2] === '<=' ? v <= n : e[2] === '>' ? v > n : e[2] === '>=' ? v >= n : e[2] === '!=' ? v !== n : v === n;
  return !ok;
}

interface GroupLike {
  name?: string;
  path?: string;
  groups?: Record<string, GroupLike> | GroupLike[];
  checks?: Record<string, { passes: number; fails: number; [k: string]: unknown }> | { name: string; passes: number; fails: number }[];
  [k: string]: unknown;
}

/** Sums check passes and fails by name, group by group. */
function mergeGroups(groups: (GroupLike | undefined)[]): GroupLike | undefined {
  const present = groups.filter((g): g is GroupLike => !!g);
  if (!present.length) return undefined;
  const out = structuredClone(present[0]!);
  for (const g of present.slice(1)) {
    if (out.checks && g.checks && !Array.isArray(out.checks) && !Array.isArray(g.checks)) {
      for (const [name, c] of Object.entries(g.checks)) {
        const o = out.checks[name];
        if (o) {
          o.passes += c.passes;
          o.fails += c.fails;
        } else out.checks[name] = structuredClone(c);
      }
    }
    if (out.groups && g.groups && !Array.isArray(out.groups) && !Array.isArray(g.groups)) {
      for (const [name, sub] of Object.entries(g.groups)) out.groups[name] = mergeGroups([out.groups[name], sub])!;
    }
  }
  return out;
}

/** One k6 summary export for the whole scenario: counters summed, rates re-derived, trends from the raw samples. */
export async function mergeK6Summaries(
  summaries: (K6SummaryExport & { root_group?: GroupLike })[],
  requestLog: string,
  durationS: number,
): Promise<K6SummaryExport & { root_group?: GroupLike }> {
  const keys = [...new Set(summaries.flatMap((s) => Object.keys(s.metrics ?? {})))].sort();
  const trendKeys = keys.filter((k) => summaries.some((s) => s.metrics[k] && isTrend(s.metrics[k]!)));
  const values = await trendValues(requestLog, trendKeys);
  const metrics: Record<string, K6Metric> = {};
  for (const key of keys) {
    const parts = summaries.map((s) => s.metrics[key]).filter((m): m is K6Metric => !!m);
    const first = parts[0]!;
    let m: K6Metric;
    if (trendKeys.includes(key)) {
      const exact = values.get(key);
      m = exact ? trendOf(exact) : boundTrend(parts);
    } else if (typeof first.passes === 'number' || typeof first.fails === 'number') {
      const passes = parts.reduce((a, p) => a + (p.passes ?? 0), 0);
      const fails = parts.reduce((a, p) => a + (p.fails ?? 0), 0);
      m = { passes, fails, value: passes + fails ? passes / (passes + fails) : 0 };
    } else if (typeof first.count === 'number') {
      const count = parts.reduce((a, p) => a + (p.count ?? 0), 0);
      m = { count, rate: durationS ? count / durationS : 0 };
    } else {
      // gauges (vus, vus_max): the generators together
      m = {
        value: parts.reduce((a, p) => a + (p.value ?? 0), 0),
        min: parts.reduce((a, p) => a + ((p.min as number) ?? 0), 0),
        max: parts.reduce((a, p) => a + ((p.max as number) ?? 0), 0),
      };
    }
    const exprs = [...new Set(parts.flatMap((p) => Object.keys(p.thresholds ?? {})))];
    if (exprs.length) {
      m.thresholds = Object.fromEntries(exprs.map((e) => [e, thresholdFailed(e, m) ?? parts.some((p) => p.thresholds?.[e] === true)]));
    }
    metrics[key] = m;
  }
  const root = mergeGroups(summaries.map((s) => s.root_group));
  return { metrics, ...(root ? { root_group: root } : {}) };
}

interface SampleLike {
  ts: string;
  source: string;
  host: string;
}

/**
 * Samples describe the systems under load, not the load generators: when several segments sampled the same
 * source on the same host, keep the series of the lowest segment only (the others are the same system seen
 * again); sources only one segment saw are all kept. Returns the lines and which segment each series came from.
 */
export function mergeSamples(perSegment: { index: number; lines: string[] }[]): { lines: string[]; from: Record<string, number> } {
  const from: Record<string, number> = {};
  const kept: { ts: string; line: string }[] = [];
  for (const seg of [...perSegment].sort((a, b) => a.index - b.index)) {
    const mine = new Set<string>();
    for (const line of seg.lines) {
      let s: SampleLike;
      try {
        s = JSON.parse(line) as SampleLike;
      } catch {
        continue;
      }
      const key = `${s.source}@${s.host}`;
      if (from[key] !== undefined && !mine.has(key)) continue;
      from[key] = seg.index;
      mine.add(key);
      kept.push({ ts: s.ts, line });
    }
  }
  kept.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  return { lines: kept.map((k) => k.line), from };
}

/** Dropped iterations and VUs per second across generators: each segment's own, summed. */
function progressOfSegments(dirs: ResultsDir[]): ProgressPoint[] {
  return progressOfRuns(
    dirs.flatMap((d) => {
      const csv = d.readText('timeseries');
      return csv === undefined ? [] : [parseTimeseriesCsv(csv)];
    }),
  );
}

export async function mergeResults(opts: MergeOptions): Promise<MergeOutcome> {
  const log = opts.log ?? (() => undefined);
  const segs = opts.dirs.map(loadSegment).sort((a, b) => (a.manifest.segment?.index ?? 0) - (b.manifest.segment?.index ?? 0));
  const warnings = checkSegments(segs, opts.allowPartial);
  if (fs.existsSync(opts.out) && fs.readdirSync(opts.out).length)
    throw new UserError(`${opts.out} exists and is not empty: choose a new --out`);
  const out = ResultsDir.at(opts.out);
  const first = segs[0]!;

  // The request logs first: everything else is recomputed from them.
  log(`merging ${segs.length} segments of ${first.manifest.scenario} into ${opts.out}`);
  await concatFiles(
    segs.map((s) => s.results.path('requestLog')),
    out.path('requestLog'),
  );
  const progress = progressOfSegments(segs.map((s) => s.results));
  out.writeNdjson('k6Progress', progress);
  const { rows, durations, submissions } = await aggregateRequestLog(out.path('requestLog'), progress);
  out.writeText('timeseries', timeseriesCsv(rows));
  const firstSecond = rows.length ? rows[0]!.second : 0;
  const durationS = rows.length ? rows[rows.length - 1]!.second - firstSecond + 1 : 0;

  const k6sums = segs.map((s) => s.results.k6Summary() ?? { metrics: {} });
  const k6sum = await mergeK6Summaries(k6sums, out.path('requestLog'), durationS);
  out.writeJson('k6Summary', k6sum);

  // Acks and liveness: concatenated in time order; samples: one view per system.
  const acks = segs.flatMap((s) => s.results.ndjson<AckRecord>('acks')).sort((a, b) => a.t - b.t);
  out.writeNdjson('acks', acks);
  const live = segs.flatMap((s) => s.results.ndjson<LivenessRecord>('liveness')).sort((a, b) => a.ackedAt - b.ackedAt);
  out.writeNdjson('liveness', live);
  const samples = mergeSamples(
    segs.map((s) => ({ index: s.manifest.segment!.index, lines: (s.results.readText('samples') ?? '').split('\n').filter(Boolean) })),
  );
  out.writeText('samples', samples.lines.join('\n') + (samples.lines.length ? '\n' : ''));
  out.writeText(
    'k6Log',
    segs
      .map((s) => `===== segment ${s.manifest.segment!.index}/${s.manifest.segment!.count}: ${s.dir}\n${s.results.readText('k6Log') ?? ''}`)
      .join('\n'),
  );

  // The summary of the whole scenario.
  const endpoints = endpointStats(rows, durations);
  const acknowledged = segs.reduce((a, s) => a + s.summary.acknowledged, 0);
  const thresholds = runThresholds(k6sum, submissions, first.manifest.parameters.shape);
  const lags = live.map((l) => l.lagMs).filter((v): v is number => typeof v === 'number');
  const shape = first.manifest.parameters.shape;
  const summary: RunSummary = {
    scenario: first.summary.scenario,
    target: first.summary.target,
    startedAt: segs.map((s) => s.summary.startedAt).sort()[0]!,
    endedAt: segs
      .map((s) => s.summary.endedAt)
      .sort()
      .reverse()[0]!,
    durationS,
    ...throughput(endpoints, acknowledged, durationS),
    ...(segs.some((s) => s.summary.requestsNotLogged)
      ? { requestsNotLogged: segs.reduce((a, s) => a + (s.summary.requestsNotLogged ?? 0), 0) }
      : {}),
    droppedIterations: segs.reduce((a, s) => a + s.summary.droppedIterations, 0),
    corpusExhausted: segs.reduce((a, s) => a + s.summary.corpusExhausted, 0),
    endpoints,
    thresholds,
    thresholdsPassed: thresholds.every((t) => t.ok),
    liveness: livenessStats(lags, live.length - lags.length),
    k6ExitCode: segs.map((s) => s.summary.k6ExitCode).find((c) => c !== 0) ?? 0,
    interrupted: segs.some((s) => s.summary.interrupted),
    outcome: 'passed',
    message: '',
  };
  if (first.manifest.scenario === 'ramp-to-break' && rows.length) {
    summary.rampToBreak = rampToBreakSummary(rows, firstSecond, breakSteps(shape), shape.stepS, {
      p95Ms: shape.writeP95Ms,
      failedRate: shape.failedRate,
    });
  }
  const failedSeg = segs.find((s) => s.summary.outcome === 'failed' || s.summary.outcome === 'interrupted');
  const segText = `${segs.length} of ${first.manifest.segment!.count} segments merged`;
  if (failedSeg) {
    summary.outcome = failedSeg.summary.outcome;
    summary.message = `segment ${failedSeg.manifest.segment!.index}/${failedSeg.manifest.segment!.count} ${failedSeg.summary.outcome}: ${failedSeg.summary.message}; ${segText}`;
  } else if (first.manifest.scenario === 'ramp-to-break') {
    summary.outcome = summary.rampToBreak?.highestSustainedRate ? 'passed' : 'thresholds-failed';
    summary.message = `highest rate sustained: ${summary.rampToBreak?.highestSustainedRate ?? 'none'}/s; ${segText}`;
  } else if (!summary.thresholdsPassed) {
    summary.outcome = 'thresholds-failed';
    summary.message = `${thresholds.filter((t) => !t.ok).length} threshold(s) failed; ${segText}`;
  } else {
    summary.message = `all thresholds held; ${segText}`;
  }
  out.writeJson('summary', summary);
  out.writeText('summaryText', `${formatSummary(summary)}\n`);

  const { segment: _segment, ...rest } = first.manifest;
  const manifest: RunManifest = {
    ...rest,
    format: RESULTS_FORMAT,
    status: 'finished',
    startedAt: segs.map((s) => s.manifest.startedAt).sort()[0]!,
    endedAt: segs
      .map((s) => s.manifest.endedAt ?? s.summary.endedAt)
      .sort()
      .reverse()[0],
    merged: {
      at: new Date().toISOString(),
      segments: segs.map((s) => ({
        ...s.manifest.segment!,
        dir: path.resolve(s.dir),
        startedAt: s.manifest.startedAt,
        endedAt: s.manifest.endedAt,
        outcome: s.summary.outcome,
        requests: s.summary.requests,
        acknowledged: s.summary.acknowledged,
      })),
      samplesFrom: samples.from,
      warnings,
    },
    files: RESULT_FILES,
  };
  out.writeJson('manifest', manifest);
  return { dir: opts.out, summary, warnings };
}
