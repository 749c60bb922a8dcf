// `capacity report`: a results directory (+ a topology, + a target population) -> calibration -> projection ->
// a verdict per VM summary row -> report.html (self-contained: charts as data: PNG), report.md (charts as
// files beside it), report.json (the model, no images) and report.pdf (headless Chromium).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { loadTopology } from '../topology/load.ts';
import type { Topology, VmRow } from '../topology/model.ts';
import { repoRoot } from '../core/paths.ts';
import { calibrate, type Calibration } from './calibrate.ts';
import { renderChart, type ChartSpec, type LineSeries, type RenderedChart } from './charts.ts';
import { printPdf } from './pdf.ts';
import { monthOf, project, verdicts, type Projection, type RowVerdict, type Target } from './project.ts';
import { readProfile, withProfile } from './profile.ts';
import { renderHtml, renderMarkdown } from './render.ts';
import { loadResults, sumByTime, type LoadedResults, type Series } from '../results-dir/index.ts';
import { rehearsalVerdicts, type RehearsalReport } from './rehearsal.ts';
import { signalsByRow, type HostStats } from './signals.ts';
import { readSizingConfig } from './sizing/index.ts';

export const FORMATS = ['html', 'md', 'json', 'pdf'] as const;
export type Format = (typeof FORMATS)[number];

export const DEFAULT_SIZING_CONFIG = path.join(repoRoot, 'reports', 'sizing', 'examples', 'seed-multi-vm.yml');

export interface ReportOptions {
  resultsDir: string;
  topologyFile?: string;
  sizingConfig?: string;
  target?: Partial<Target>;
  /** A calibration profile (capacity calibrate) whose costs replace this run's own. */
  calibrationFile?: string;
  outDir?: string;
  formats?: Format[];
  /** Chromium binary (default /usr/bin/chromium, or CAPACITY_CHROMIUM). */
  chromium?: string;
  log?: (line: string) => void;
}

export interface SourceStatus {
  name: string;
  status: 'present' | 'missing' | 'partial';
  detail: string;
}

export interface ReportModel {
  title: string;
  generatedAt: string;
  resultsDir: string;
  run: {
    scenario?: string;
    target?: string;
    startedAt?: string;
    endedAt?: string;
    durationS?: number;
    outcome?: string;
    message?: string;
    requests?: number;
    failedRequests?: number;
    acknowledged: number;
    endpoints: Array<{ endpoint: string; count: number; failed: number; p50: number; p95: number; p99: number; max: number }>;
    thresholds: Array<{ metric: string; expression: string; ok: boolean }>;
    liveness?: { followed: number; searchable: number; p50Ms?: number; p95Ms?: number; maxMs?: number };
    parameters?: Record<string, unknown>;
  };
  sources: SourceStatus[];
  calibration: Calibration;
  topology?: { file: string; rows: VmRow[]; from: 'option' | 'manifest' };
  projection?: {
    sizingConfig: string;
    target: Target;
    targetSources: Record<string, string>;
    load: Projection['load'];
    demands: Projection['demands'];
    overrides: Projection['overrides'];
    skipped: string[];
    start: string;
    horizon: string;
    vmSummary: VmRow[];
    totals: { vms: number; cores: number; ramGb: number; storageTotal: number };
    storageUnit: string;
  };
  verdicts: RowVerdict[];
  /** A run whose VMs were containers (docker/rehearsal.ts): each row judged by its own containers' load against their limits. */
  rehearsal?: RehearsalReport;
  hosts: HostStats[];
  charts: Array<{ id: string; title: string; file: string; width: number; height: number }>;
  chartsNotDrawn: Array<{ title: string; reason: string }>;
  notes: string[];
  warnings: string[];
}

export interface ReportResult {
  model: ReportModel;
  files: Partial<Record<Format, string>>;
  outDir: string;
  timings: Record<string, number>;
}

// ---- charts from the results -------------------------------------------------------------------------------

function origin(r: LoadedResults): number {
  const cands = [
    r.summary?.startedAt ? Date.parse(r.summary.startedAt) : NaN,
    r.manifest?.startedAt ? Date.parse(r.manifest.startedAt) : NaN,
    r.timeseries.length ? r.timeseries[0]!.second * 1000 : NaN,
    r.samples.firstMs,
  ].filter(Number.isFinite);
  return cands.length ? Math.min(...cands) : 0;
}

function seriesPoints(t: number[], v: number[], t0: number): LineSeries['points'] {
  return t.map((x, i) => ({ x: Math.round((x - t0) / 100) / 10, y: v[i]! }));
}

/** One line per distinct value of `label` (summed over the rest). */
function byLabel(list: Series[], label: string): Map<string, Series[]> {
  const m = new Map<string, Series[]>();
  for (const s of list) {
    const k = s.labels[label] ?? s.host;
    m.set(k, [...(m.get(k) ?? []), s]);
  }
  return m;
}

export function chartSpecs(
  r: LoadedResults,
  verdictRows: RowVerdict[],
): { specs: ChartSpec[]; notDrawn: Array<{ title: string; reason: string }> } {
  const specs: ChartSpec[] = [];
  const notDrawn: Array<{ title: string; reason: string }> = [];
  const t0 = origin(r);
  const x = 'seconds since the start';
  // the phone's endpoints first (latency charts are drawn for the first four), then exports and the data API
  const rank = (ep: string) => (['receiver', 'restore', 'search'].indexOf(ep) + 4) % 4;
  const endpoints = [...new Set(r.timeseries.filter((row) => row.endpoint !== 'none').map((row) => row.endpoint))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  const perEndpoint = (ep: string) => r.timeseries.filter((row) => row.endpoint === ep);
  const sec = (s: number) => s - t0 / 1000;

  if (endpoints.length) {
    specs.push({
      id: 'throughput',
      title: 'Throughput: requests per second by endpoint',
      kind: 'line',
      xLabel: x,
      yLabel: 'requests/s',
      series: endpoints.map((ep) => ({ label: ep, points: perEndpoint(ep).map((row) => ({ x: sec(row.second), y: row.requests })) })),
    });
    for (const ep of endpoints.slice(0, 4)) {
      const rows = perEndpoint(ep);
      specs.push({
        id: `latency-${ep}`,
        title: `Latency percentiles: ${ep}`,
        kind: 'line',
        xLabel: x,
        yLabel: 'ms',
        series: (['p50', 'p95', 'p99'] as const).map((p) => ({
          label: p,
          keepPeaks: true,
          points: rows.map((row) => ({ x: sec(row.second), y: row[p] })),
        })),
      });
    }
    const dropped = r.timeseries.filter((row) => row.dropped > 0);
    specs.push({
      id: 'errors',
      title: 'Errors: failed requests and dropped iterations per second',
      kind: 'line',
      xLabel: x,
      yLabel: 'per second',
      series: [
        ...endpoints.map((ep) => ({
          label: `${ep} failed`,
          points: perEndpoint(ep).map((row) => ({ x: sec(row.second), y: row.failed })),
        })),
        {
          label: 'dropped iterations',
          dashed: true,
          points: dropped.length
            ? [...new Map(r.timeseries.map((row) => [row.second, row.dropped])).entries()].map(([s, d]) => ({ x: sec(s), y: d }))
            : [],
        },
      ],
    });
  } else notDrawn.push({ title: 'Throughput, latency and errors', reason: 'no timeseries.csv rows' });

  const pillowLag = r.samples.get('pillows', 'time_lag_max_s');
  const offsetLag = r.samples.get('pillows', 'offset_lag_total');
  const live = r.liveness.filter((l) => l.lagMs !== undefined);
  if (pillowLag.length || offsetLag.length || live.length) {
    const series: LineSeries[] = [];
    for (const [p, list] of byLabel(pillowLag, 'pillow')) {
      const s = sumByTime(list);
      series.push({ label: `${p} time lag (s)`, keepPeaks: true, points: seriesPoints(s.t, s.v, t0) });
    }
    if (live.length)
      series.push({
        label: 'ack -> searchable (s)',
        dashed: true,
        keepPeaks: true,
        points: live.map((l) => ({ x: Math.round((l.ackedAt - t0) / 100) / 10, y: l.lagMs! / 1000 })),
      });
    for (const [p, list] of byLabel(offsetLag, 'pillow')) {
      const s = sumByTime(list);
      series.push({ label: `${p} offset lag (changes)`, right: true, dashed: true, keepPeaks: true, points: seriesPoints(s.t, s.v, t0) });
    }
    specs.push({
      id: 'pillow-lag',
      title: 'Pillow lag and data liveness',
      kind: 'line',
      xLabel: x,
      yLabel: 'seconds',
      yRightLabel: 'changes behind',
      series,
    });
  } else notDrawn.push({ title: 'Pillow lag', reason: 'no pillow samples and no liveness records' });

  const metricLine = (source: string, metric: string, label: string, right = false): LineSeries | undefined => {
    const list = r.samples.get(source, metric);
    if (!list.length) return undefined;
    const s = sumByTime(list);
    return { label, right, points: seriesPoints(s.t, s.v, t0) };
  };
  const pgSeries = [
    metricLine('postgres', 'tps', 'transactions/s'),
    metricLine('postgres', 'rows_inserted_per_s', 'rows inserted/s'),
    metricLine('postgres', 'rows_fetched_per_s', 'rows fetched/s'),
    metricLine('postgres', 'connections_total', 'connections', true),
  ].filter((s): s is LineSeries => !!s);
  if (pgSeries.length)
    specs.push({
      id: 'postgres',
      title: 'PostgreSQL load',
      kind: 'line',
      xLabel: x,
      yLabel: 'per second',
      yRightLabel: 'connections',
      series: pgSeries,
    });
  else notDrawn.push({ title: 'PostgreSQL load', reason: 'no postgres samples' });
  const esSeries = [
    metricLine('elasticsearch', 'indexing_per_s', 'documents indexed/s'),
    metricLine('elasticsearch', 'search_per_s', 'searches/s (shard query phases)'),
    metricLine('elasticsearch', 'heap_used_pct', 'heap used %', true),
  ].filter((s): s is LineSeries => !!s);
  if (esSeries.length)
    specs.push({
      id: 'elasticsearch',
      title: 'Elasticsearch load',
      kind: 'line',
      xLabel: x,
      yLabel: 'per second',
      yRightLabel: 'heap %',
      series: esSeries,
    });
  else notDrawn.push({ title: 'Elasticsearch load', reason: 'no elasticsearch samples' });

  const procCores = r.samples.get('process', 'cpu_cores');
  if (procCores.length) {
    specs.push({
      id: 'process-cpu',
      title: 'CPU by service (process trees)',
      kind: 'line',
      xLabel: x,
      yLabel: 'cores',
      series: [...byLabel(procCores, 'service')]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([svc, list]) => {
          const s = sumByTime(list);
          return { label: svc, points: seriesPoints(s.t, s.v, t0) };
        }),
    });
  }
  const hostBusy = r.samples.get('host', 'cpu_busy_pct');
  if (hostBusy.length) {
    const series: LineSeries[] = [];
    for (const s of hostBusy) series.push({ label: `${s.host} CPU busy %`, points: seriesPoints(s.t, s.v, t0) });
    for (const s of r.samples.get('host', 'cpu_iowait_pct'))
      series.push({ label: `${s.host} iowait %`, dashed: true, points: seriesPoints(s.t, s.v, t0) });
    specs.push({
      id: 'host-cpu',
      title: 'VM CPU: busy and iowait (OpenCRVS signals)',
      kind: 'line',
      xLabel: x,
      yLabel: '%',
      series: series.slice(0, 20),
    });
  } else notDrawn.push({ title: 'VM CPU', reason: 'no host samples' });

  const judged = verdictRows.filter((v) => v.checks.length);
  if (judged.length) {
    const resources = ['cpu measured', 'cpu modelled', 'ram measured', 'storage measured', 'storage modelled'] as const;
    const keyOf = (c: RowVerdict['checks'][number]) => `${c.resource} ${c.basis}`;
    const used = resources.filter((res) => judged.some((v) => v.checks.some((c) => keyOf(c) === res)));
    specs.push({
      id: 'utilisation',
      title: 'Per-VM utilisation against capacity at the target (100 % = the row is full)',
      kind: 'bar',
      horizontal: true,
      categories: judged.map((v) => v.row.name),
      yLabel: '% of usable capacity',
      bars: used.map((res, i) => ({
        label: {
          'cpu measured': 'CPU at peak (measured, of 70 % target)',
          'cpu modelled': 'CPU (modelled: config capacities)',
          'ram measured': 'RAM (as measured, advisory)',
          'storage measured': 'storage at horizon (measured unit sizes)',
          'storage modelled': 'storage at horizon (config unit sizes)',
        }[res],
        colour: ['#1f77b4', '#9467bd', '#ff7f0e', '#2ca02c', '#8c564b'][resources.indexOf(res)] ?? `#${i}${i}${i}`,
        values: judged.map((v) => {
          const c = v.checks.find((x) => keyOf(x) === res);
          return c && Number.isFinite(c.utilisation) ? Math.round(c.utilisation * 1000) / 10 : null;
        }),
      })),
      line: { value: 100, label: 'capacity' },
    });
  } else notDrawn.push({ title: 'Per-VM utilisation against capacity', reason: 'no topology rows, or nothing to judge them by' });
  const growth = verdictRows.filter((v) => v.storageByMonth?.length && v.row.storageGbPerVm > 0);
  if (growth.length) {
    const months = growth[0]!.storageByMonth!.map((m) => m.month);
    specs.push({
      id: 'storage-growth',
      title: `Storage growth per VM against the disk column (100 % = disk full), ${months[0]} to ${months[months.length - 1]}`,
      kind: 'line',
      xLabel: `month (1 = ${months[0]})`,
      yLabel: '% of data disk per VM',
      series: [
        ...growth.map((v) => ({
          label: v.row.name,
          points: v.storageByMonth!.map((m, i) => ({ x: i + 1, y: Math.round((m.gbPerVm / v.row.storageGbPerVm) * 1000) / 10 })),
        })),
        { label: 'disk column', dashed: true, colour: '#000000', points: months.map((_, i) => ({ x: i + 1, y: 100 })) },
      ],
    });
  } else
    notDrawn.push({ title: 'Storage growth against the disk column', reason: 'no topology rows with disks matched to sizing services' });
  return { specs, notDrawn };
}

// ---- the report -------------------------------------------------------------------------------------------

function sourceStatus(r: LoadedResults): SourceStatus[] {
  const out: SourceStatus[] = [];
  for (const f of [
    'manifest.json',
    'summary.json',
    'k6-summary.json',
    'timeseries.csv',
    'acks.ndjson',
    'liveness.ndjson',
    'samples.ndjson',
  ]) {
    if (r.missing.includes(f)) out.push({ name: f, status: 'missing', detail: 'not in the results directory' });
  }
  const expected = ['host', 'postgres', 'pillows', 'kafka', 'elasticsearch', 'redis', 'nginx', 'process', 'local_store'];
  const present = r.samples.sources().filter((s) => s !== 'sampler');
  for (const s of expected) {
    const gaps = [...r.samples.gaps.values()].filter((g) => g.source === s);
    const gapCount = gaps.reduce((a, g) => a + g.count, 0);
    if (present.includes(s)) {
      out.push({
        name: `samples: ${s}`,
        status: gapCount ? 'partial' : 'present',
        detail: `${r.samples.hosts(s).join(', ')}${
          gapCount
            ? `; ${gapCount} gaps (${gaps
                .map((g) => `${g.host}${g.part ? `/${g.part}` : ''}: ${g.firstError}`)
                .slice(0, 3)
                .join('; ')})`
            : ''
        }`,
      });
    } else if (gapCount) out.push({ name: `samples: ${s}`, status: 'missing', detail: `only gaps: ${gaps[0]!.firstError}` });
    else if (r.samples.lines)
      out.push({
        name: `samples: ${s}`,
        status: 'missing',
        detail: s === 'process' || s === 'local_store' ? 'not sampled (local stack only)' : 'not sampled',
      });
  }
  for (const s of present)
    if (!expected.includes(s)) out.push({ name: `samples: ${s}`, status: 'present', detail: r.samples.hosts(s).join(', ') });
  return out;
}

function resolveTopology(opts: ReportOptions, r: LoadedResults): { topology?: Topology; info?: ReportModel['topology'] } {
  if (opts.topologyFile) {
    const t = loadTopology(opts.topologyFile);
    return { topology: t, info: { file: path.resolve(opts.topologyFile), rows: t.rows, from: 'option' } };
  }
  const m = r.manifest?.topology;
  if (m?.rows?.length) {
    let topology: Topology | undefined;
    try {
      topology = loadTopology(m.file);
    } catch {
      // the file may be gone: the rows in the manifest are enough for verdicts
    }
    return { topology, info: { file: m.file, rows: m.rows, from: 'manifest' } };
  }
  return {};
}

export async function buildReport(opts: ReportOptions): Promise<ReportResult> {
  const log = opts.log ?? (() => undefined);
  const formats = opts.formats ?? [...FORMATS];
  for (const f of formats)
    if (!(FORMATS as readonly string[]).includes(f)) throw new UserError(`unknown format "${f}" (one of ${FORMATS.join(', ')})`);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - t);
    t = now;
  };

  const results = await loadResults(opts.resultsDir);
  lap('load');
  const { topology, info: topoInfo } = resolveTopology(opts, results);
  const own = calibrate(results, topology);
  const calibration = opts.calibrationFile ? withProfile(own, readProfile(opts.calibrationFile), opts.calibrationFile) : own;
  lap('calibrate');
  const notes: string[] = [];
  const sizingFile = opts.sizingConfig ?? DEFAULT_SIZING_CONFIG;
  const config = readSizingConfig(sizingFile);
  notes.push(...config.warnings);
  const runMonth = monthOf(results.manifest?.startedAt ?? results.summary?.startedAt);
  const proj = project(config, calibration, opts.target ?? {}, runMonth);
  notes.push(...proj.notes);
  const rows = topoInfo?.rows ?? [];
  const { hosts, byRow } = signalsByRow(results.samples, rows, topology);
  const rowVerdicts = verdicts(rows, proj, calibration, topology, byRow);
  const ramp = results.summary?.rampToBreak;
  const rehearsal = rehearsalVerdicts(
    results.samples,
    rows,
    topology,
    ramp ? { steps: ramp.steps, stepS: results.manifest?.parameters?.shape?.stepS } : undefined,
  );
  if (!rows.length)
    notes.push(
      "no topology (give --topology, or run with --topology): no verdicts per VM row; the sizing model's VM summary for the target is shown instead",
    );
  if (calibration.costs.some((c) => c.value !== undefined && (c.source === 'local stand-in' || c.source === 'containers'))) {
    notes.push(
      "stand-in costs: the local stack's web workers and pillows are this project's HQ-compatible service, not CommCare HQ's Django and pillowtop, so their CPU per form is far below a real install's; CPU verdicts for web, celery and pillowtop drawn from them alone are advisory. Storage per unit follows HQ's tables and is closer. For a real profile, run against a staging HQ and `capacity calibrate` it (reports/sizing/README.md).",
    );
  }
  if (results.manifest?.target?.kind === 'local') {
    if (hosts.some((h) => h.host === 'localhost'))
      notes.push(
        "local stack: every service and the load generator (k6) share this machine, so host figures (and the signals) are the whole machine's",
      );
  }
  lap('project');

  const last = proj.sizing.summaries[proj.sizing.summaries.length - 1]!;
  const s = results.summary;
  const model: ReportModel = {
    title: `Capacity report: ${results.manifest?.scenario ?? s?.scenario ?? path.basename(results.dir)}`,
    generatedAt: new Date().toISOString(),
    resultsDir: results.dir,
    run: {
      acknowledged: results.acks.count || s?.acknowledged || 0,
      endpoints: Object.entries(s?.endpoints ?? {}).map(([endpoint, e]) => ({ endpoint, ...e })),
      thresholds: s?.thresholds ?? [],
      ...(s
        ? {
            scenario: s.scenario,
            target: s.target,
            startedAt: s.startedAt,
            endedAt: s.endedAt,
            durationS: s.durationS,
            outcome: s.outcome,
            message: s.message,
            requests: s.requests,
            failedRequests: s.failedRequests,
            liveness: s.liveness,
          }
        : {}),
      ...(results.manifest?.parameters
        ? {
            parameters: {
              ...(results.manifest.parameters.shape ?? {}),
              users: results.manifest.parameters.shape?.users ?? results.manifest.parameters.users,
            },
          }
        : {}),
    },
    sources: sourceStatus(results),
    calibration,
    verdicts: rowVerdicts,
    hosts,
    charts: [],
    chartsNotDrawn: [],
    notes,
    warnings: results.warnings,
    projection: {
      sizingConfig: path.resolve(sizingFile),
      target: proj.target,
      targetSources: proj.targetSources,
      load: proj.load,
      demands: proj.demands,
      overrides: proj.overrides,
      skipped: proj.skipped,
      start: proj.start,
      horizon: proj.horizon,
      vmSummary: last.vmRows,
      totals: { vms: last.totals.vms, cores: last.totals.cores, ramGb: last.totals.ramGb, storageTotal: last.totals.storageTotal },
      storageUnit: proj.sizing.storageUnit,
    },
  };
  if (!model.run.scenario && results.manifest?.scenario) model.run.scenario = results.manifest.scenario;
  if (topoInfo) model.topology = topoInfo;
  if (rehearsal) model.rehearsal = rehearsal;

  const outDir = path.resolve(opts.outDir ?? path.join(results.dir, 'report'));
  fs.mkdirSync(outDir, { recursive: true });
  const { specs, notDrawn } = chartSpecs(results, rowVerdicts);
  model.chartsNotDrawn = notDrawn;
  const rendered: RenderedChart[] = [];
  for (const spec of specs) rendered.push(await renderChart(spec));
  lap('charts');
  const wantFiles = formats.includes('md') || formats.includes('json');
  if (wantFiles) fs.mkdirSync(path.join(outDir, 'charts'), { recursive: true });
  for (const c of rendered) {
    const file = `charts/${c.id}.png`;
    if (wantFiles) fs.writeFileSync(path.join(outDir, file), c.png);
    model.charts.push({ id: c.id, title: c.title, file, width: c.width, height: c.height });
  }

  const files: ReportResult['files'] = {};
  let html: string | undefined;
  if (formats.includes('html') || formats.includes('pdf')) html = renderHtml(model, rendered);
  if (formats.includes('html')) {
    files.html = path.join(outDir, 'report.html');
    fs.writeFileSync(files.html, html!);
  }
  if (formats.includes('md')) {
    files.md = path.join(outDir, 'report.md');
    fs.writeFileSync(files.md, renderMarkdown(model));
  }
  if (formats.includes('json')) {
    files.json = path.join(outDir, 'report.json');
    fs.writeFileSync(files.json, `${JSON.stringify(model, null, 2)}\n`);
  }
  lap('write');
  if (formats.includes('pdf')) {
    let htmlFile = files.html;
    let temp: string | undefined;
    if (!htmlFile) {
      temp = path.join(outDir, '.report-for-pdf.html');
      fs.writeFileSync(temp, html!);
      htmlFile = temp;
    }
    files.pdf = path.join(outDir, 'report.pdf');
    try {
      await printPdf(htmlFile, files.pdf, { chromium: opts.chromium });
    } finally {
      if (temp) fs.rmSync(temp, { force: true });
    }
    lap('pdf');
  }
  log(`report: ${Object.values(files).join(', ')}`);
  return { model, files, outDir, timings };
}
