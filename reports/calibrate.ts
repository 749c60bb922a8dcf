// Calibration: per-unit costs measured under load, from a results directory only.
//
// Everything is a ratio of two things the collectors measured over the same window (the span of samples.ndjson),
// so other load on a shared stack changes the counts and the costs together: CPU seconds of a component's process
// tree (source `process`) over the forms Kafka's form topic took in (one change per form), table bytes over table
// rows (PostgreSQL), index bytes over index documents (Elasticsearch), log bytes over offsets (Kafka). Where the
// run did not grow a store enough to measure growth (PostgreSQL allocates 8 KB pages, so a few hundred rows say
// little), the footprint (bytes / rows held) is used and the basis says so. A figure that cannot be measured is
// `undefined` with the reason; nothing is invented.
import type { Topology } from '../topology/model.ts';
import { increase, integrate, sumByTime, type LoadedResults, type SampleStore, type Series } from '../results-dir/index.ts';
import { EXPORT_COST_KEYS, exportCosts } from './export-costs.ts';

/**
 * Where a per-unit cost was measured: this project's local stack (HQ-compatible stand-ins for Django and the
 * pillows, real PostgreSQL, Kafka, Elasticsearch, Redis, nginx), the same stack in containers, or a real HQ at a URL.
 */
export type CostSource = 'local stand-in' | 'containers' | 'URL target';

/** The source of a run's costs, from its manifest's target kind ('local', 'containers', else a URL). */
export function sourceOfTarget(kind: string | undefined): CostSource | undefined {
  if (kind === 'local') return 'local stand-in';
  if (kind === 'containers') return 'containers';
  if (kind === 'url') return 'URL target';
  return undefined;
}

/** The stack this project runs (locally or in containers): its web workers and pillows are not HQ's code. */
export function isStandIn(source: CostSource | undefined): boolean {
  return source === 'local stand-in' || source === 'containers';
}

export interface UnitCost {
  key: string;
  label: string;
  value?: number;
  unit: string;
  /** How it was measured, or why it could not be. */
  basis: string;
  /** The usual resource-model constant, for comparison. */
  reference?: string;
  source?: CostSource;
}

export interface ServiceLoad {
  kind: string;
  cpuSeconds: number;
  /** Mean cores over the window, and the highest tick. */
  meanCores: number;
  peakCores?: number;
  peakRssBytes?: number;
  processes: string[];
  basis: string;
}

export interface Calibration {
  window?: { fromMs: number; toMs: number; seconds: number };
  counts: {
    formsAcknowledged: number;
    formsWritten?: number;
    changes?: number;
    restores?: number;
    restoredCases?: number;
    requests?: number;
  };
  services: ServiceLoad[];
  costs: UnitCost[];
  notes: string[];
}

export const COST_KEYS = [
  'web_cpu_per_form',
  'web_cpu_per_restored_case',
  'restore_ms_per_case',
  'cases_per_restore',
  'pillow_cpu_per_change',
  'pillow_cpu_per_form',
  'pg_cpu_per_form',
  'es_cpu_per_form',
  'kafka_cpu_per_form',
  'nginx_cpu_per_request',
  'redis_cpu_per_form',
  'pg_bytes_per_form_row',
  'pg_bytes_per_case',
  'pg_bytes_per_transaction',
  'pg_bytes_per_case_index',
  'pg_bytes_per_ucr_row',
  'pg_bytes_per_form',
  'cases_per_form',
  'transactions_per_form',
  'pg_db_bytes_per_form',
  'synclog_bytes_per_restore',
  'es_bytes_per_form_doc',
  'es_bytes_per_case_doc',
  'es_bytes_per_form',
  'kafka_bytes_per_change',
  'kafka_changes_per_form',
  'request_bytes_per_form',
  // Exports' costs (export-costs.ts): carried by profiles like the rest.
  ...EXPORT_COST_KEYS,
] as const;
export type CostKey = (typeof COST_KEYS)[number];

export function cost(c: Calibration, key: CostKey): number | undefined {
  return c.costs.find((x) => x.key === key)?.value;
}

export function costSource(c: Calibration, key: CostKey): CostSource | undefined {
  return c.costs.find((x) => x.key === key)?.source;
}

const fmt = (n: number, digits = 3) =>
  Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(digits)).toString();

/** Increase of a counter summed over series (each series on its own, so a restart in one is not a fall in all). */
function seriesIncrease(series: readonly Series[], fromMs: number, toMs: number): number | undefined {
  let total = 0;
  let any = false;
  for (const s of series) {
    const v: number[] = [];
    for (let i = 0; i < s.t.length; i++) if (s.t[i]! >= fromMs && s.t[i]! <= toMs) v.push(s.v[i]!);
    if (v.length >= 2) {
      total += increase(v);
      any = true;
    }
  }
  return any ? total : undefined;
}

/** A gauge summed over series per tick: first and last readings inside the window. */
function firstLast(
  series: readonly Series[],
  fromMs: number,
  toMs: number,
): { first: number; last: number; firstT: number; lastT: number; n: number } | undefined {
  const sum = sumByTime(series);
  const idx: number[] = [];
  for (let i = 0; i < sum.t.length; i++) if (sum.t[i]! >= fromMs && sum.t[i]! <= toMs) idx.push(i);
  if (!idx.length) return undefined;
  const a = idx[0]!;
  const b = idx[idx.length - 1]!;
  return { first: sum.v[a]!, last: sum.v[b]!, firstT: sum.t[a]!, lastT: sum.t[b]!, n: idx.length };
}

/** The kind of PostgreSQL table a collector's `table` label names (HQ's table names). */
export function tableKind(table: string): string | undefined {
  const t = table.toLowerCase();
  if (t.endsWith('xforminstancesql')) return 'form';
  if (t.endsWith('commcarecasesql')) return 'case';
  if (t.endsWith('casetransaction')) return 'transaction';
  if (t.endsWith('commcarecaseindexsql')) return 'case_index';
  if (t.endsWith('ledgervalue') || t.endsWith('ledgertransaction')) return 'ledger';
  if (/(^|\.)ucr_/.test(t) || t.includes('config_report_')) return 'ucr';
  if (t.endsWith('synclogsql')) return 'synclog';
  return undefined;
}

/** Form / case topics and indices by name (HQ: form-sql, case-sql; xforms, hqcases). */
const isFormTopic = (t: string) => /^form/.test(t);
const isHqTopic = (t: string) => !t.startsWith('__');
const indexKind = (i: string) => (/form/i.test(i) ? 'form' : /case/i.test(i) ? 'case' : undefined);

/** Minimum growth for a growth-based size: 50 PostgreSQL pages, and enough rows that a page is a small share. */
const MIN_GROWTH_BYTES = 50 * 8192;
const MIN_GROWTH_ROWS = 100;

interface StoreSize {
  /** Bytes per row (or document, or change). */
  unit?: number;
  basis: string;
  deltaRows?: number;
  deltaBytes?: number;
  rows?: number;
  bytes?: number;
}

function storeSize(
  bytes: ReturnType<typeof firstLast>,
  rows: ReturnType<typeof firstLast>,
  what: string,
  preferFootprint = false,
): StoreSize {
  if (!bytes || !rows) return { basis: `no ${what} readings` };
  const dB = bytes.last - bytes.first;
  const dR = rows.last - rows.first;
  const growthOk = bytes.n >= 2 && dR >= MIN_GROWTH_ROWS && dB >= MIN_GROWTH_BYTES;
  const base = { deltaRows: dR, deltaBytes: dB, rows: rows.last, bytes: bytes.last };
  if (growthOk && !preferFootprint) {
    return { ...base, unit: dB / dR, basis: `growth: +${fmt(dB)} B / +${fmt(dR)} ${what}` };
  }
  if (rows.last > 0) {
    const why = preferFootprint
      ? 'footprint'
      : bytes.n < 2
        ? 'footprint (one reading)'
        : `footprint (growth too small to measure: +${fmt(dB)} B, +${fmt(dR)} ${what})`;
    return { ...base, unit: bytes.last / rows.last, basis: `${why}: ${fmt(bytes.last)} B / ${fmt(rows.last)} ${what}` };
  }
  return { ...base, basis: `no ${what} held` };
}

/** Non-negative least squares, two unknowns, no intercept: y ≈ a·x1 + b·x2. */
export function nnls2(
  x1: readonly number[],
  x2: readonly number[],
  y: readonly number[],
): { a: number; b: number; r2: number } | undefined {
  const n = y.length;
  if (n < 2) return undefined;
  let s11 = 0,
    s12 = 0,
    s22 = 0,
    s1y = 0,
    s2y = 0,
    syy = 0,
    sy = 0;
  for (let i = 0; i < n; i++) {
    s11 += x1[i]! * x1[i]!;
    s12 += x1[i]! * x2[i]!;
    s22 += x2[i]! * x2[i]!;
    s1y += x1[i]! * y[i]!;
    s2y += x2[i]! * y[i]!;
    syy += y[i]! * y[i]!;
    sy += y[i]!;
  }
  let a: number, b: number;
  const det = s11 * s22 - s12 * s12;
  if (det > 1e-12 * Math.max(1, s11 * s22)) {
    a = (s1y * s22 - s2y * s12) / det;
    b = (s2y * s11 - s1y * s12) / det;
  } else {
    a = -1;
    b = -1;
  }
  if (a < 0 || b < 0) {
    // one of them alone, whichever fits better
    const aOnly = s11 > 0 ? Math.max(0, s1y / s11) : 0;
    const bOnly = s22 > 0 ? Math.max(0, s2y / s22) : 0;
    const sse = (p: number, q: number) => syy - 2 * p * s1y - 2 * q * s2y + p * p * s11 + 2 * p * q * s12 + q * q * s22;
    if (sse(aOnly, 0) <= sse(0, bOnly)) [a, b] = [aOnly, 0];
    else [a, b] = [0, bOnly];
  }
  const mean = sy / n;
  const sst = syy - n * mean * mean;
  const sse = syy - 2 * a * s1y - 2 * b * s2y + a * a * s11 + 2 * a * b * s12 + b * b * s22;
  return { a, b, r2: sst > 0 ? 1 - sse / sst : 0 };
}

/** Per-interval deltas of a counter (summed over series) at the given ticks. */
function deltasAt(series: readonly Series[], ticks: readonly number[]): number[] | undefined {
  if (!series.length) return undefined;
  const sum = sumByTime(series);
  const at = new Map(sum.t.map((t, i) => [t, sum.v[i]!]));
  const out: number[] = [];
  for (let i = 1; i < ticks.length; i++) {
    const a = at.get(ticks[i - 1]!);
    const b = at.get(ticks[i]!);
    if (a === undefined || b === undefined) return undefined;
    out.push(Math.max(0, b - a));
  }
  return out;
}

/** CPU of each service kind: the `process` source, else hosts that carry one kind only (topology). */
function serviceLoads(samples: SampleStore, fromMs: number, toMs: number, seconds: number, topology?: Topology): ServiceLoad[] {
  const out: ServiceLoad[] = [];
  const cpu = samples.get('process', 'cpu_seconds');
  const kinds = [...new Set(cpu.map((s) => s.labels.service ?? 'other'))].sort();
  for (const kind of kinds) {
    const mine = cpu.filter((s) => (s.labels.service ?? 'other') === kind);
    const cpuSeconds = seriesIncrease(mine, fromMs, toMs);
    if (cpuSeconds === undefined) continue;
    const cores = sumByTime(samples.get('process', 'cpu_cores', { service: kind }));
    const rss = sumByTime(samples.get('process', 'rss_bytes', { service: kind }));
    const load: ServiceLoad = {
      kind,
      cpuSeconds,
      meanCores: seconds > 0 ? cpuSeconds / seconds : 0,
      processes: [...new Set(mine.map((s) => s.labels.process ?? '?'))].sort(),
      basis: 'process CPU (pid files + /proc)',
    };
    if (cores.v.length) load.peakCores = Math.max(...cores.v);
    if (rss.v.length) load.peakRssBytes = Math.max(...rss.v);
    out.push(load);
  }
  if (out.length || !topology) return out;
  // VMs: a host whose services are all of one kind gives that kind's CPU (busy % x cpus), memory in use.
  const perKind = new Map<string, ServiceLoad>();
  for (const h of topology.hosts) {
    const hostKinds = [...new Set(h.services.map((s) => s.kind))];
    if (hostKinds.length !== 1) continue;
    const busy = samples.get('host', 'cpu_busy_pct', {}, h.name);
    const cpus = samples.get('host', 'cpus', {}, h.name)[0]?.v[0];
    if (!busy.length || !cpus) continue;
    const s = busy[0]!;
    const idx = s.t.map((t, i) => [t, i] as const).filter(([t]) => t >= fromMs && t <= toMs);
    if (idx.length < 2) continue;
    const t = idx.map(([x]) => x);
    const v = idx.map(([, i]) => (s.v[i]! / 100) * cpus);
    const cpuSeconds = integrate(t, v);
    const used = samples.get('host', 'mem_total_bytes', {}, h.name)[0];
    const avail = samples.get('host', 'mem_available_bytes', {}, h.name)[0];
    const kind = hostKinds[0]!;
    const cur = perKind.get(kind) ?? {
      kind,
      cpuSeconds: 0,
      meanCores: 0,
      peakCores: 0,
      peakRssBytes: 0,
      processes: [],
      basis: 'host CPU of VMs running only this service',
    };
    cur.cpuSeconds += cpuSeconds;
    cur.meanCores = seconds > 0 ? cur.cpuSeconds / seconds : 0;
    cur.peakCores = (cur.peakCores ?? 0) + Math.max(...v);
    if (used && avail) cur.peakRssBytes = (cur.peakRssBytes ?? 0) + Math.max(...used.v.map((x, i) => x - (avail.v[i] ?? x)));
    cur.processes.push(h.name);
    perKind.set(kind, cur);
  }
  return [...perKind.values()];
}

/** Per-unit costs from a loaded results directory. `topology` lets VM host figures stand in for process figures. */
export function calibrate(results: LoadedResults, topology?: Topology): Calibration {
  const { samples } = results;
  const notes: string[] = [];
  const costs: UnitCost[] = [];
  const acked = results.acks.count || results.summary?.acknowledged || 0;
  const calibration: Calibration = { counts: { formsAcknowledged: acked }, services: [], costs, notes };
  const source = sourceOfTarget(results.manifest?.target?.kind);
  const add = (key: CostKey, label: string, unit: string, value: number | undefined, basis: string, reference?: string) => {
    const c: UnitCost = { key, label, unit, basis };
    if (source) c.source = source;
    if (value !== undefined && Number.isFinite(value)) c.value = value;
    if (reference) c.reference = reference;
    costs.push(c);
  };

  if (!samples.lines) {
    notes.push('no collector samples (samples.ndjson missing or empty): CPU and storage costs cannot be measured');
  }
  const fromMs = samples.firstMs;
  const toMs = samples.lastMs;
  const seconds = Number.isFinite(fromMs) && toMs > fromMs ? (toMs - fromMs) / 1000 : 0;
  if (seconds > 0) calibration.window = { fromMs, toMs, seconds };

  // ---- counts ----
  const topicOffsets = samples.get('kafka', 'topic_end_offset');
  const formTopics = topicOffsets.filter((s) => isFormTopic(s.labels.topic ?? ''));
  const hqTopics = topicOffsets.filter((s) => isHqTopic(s.labels.topic ?? ''));
  const formsWritten = seriesIncrease(formTopics, fromMs, toMs);
  const changes = seriesIncrease(hqTopics, fromMs, toMs);
  if (formsWritten !== undefined) calibration.counts.formsWritten = formsWritten;
  if (changes !== undefined) calibration.counts.changes = changes;
  const restores = seriesIncrease(samples.get('local_store', 'synclogs'), fromMs, toMs);
  const restoredCases = seriesIncrease(samples.get('local_store', 'synclog_cases'), fromMs, toMs);
  if (restores !== undefined) calibration.counts.restores = restores;
  if (restoredCases !== undefined) calibration.counts.restoredCases = restoredCases;
  const nginxReq = samples.get('nginx', 'requests_per_s');
  const tsRequests = results.timeseries.reduce((s, r) => s + r.requests, 0);
  let requests: number | undefined;
  if (nginxReq.length) requests = nginxReq.reduce((sum, s) => sum + integrate(s.t, s.v), 0);
  else if (tsRequests) requests = tsRequests;
  if (requests !== undefined) calibration.counts.requests = requests;
  const forms = formsWritten ?? (acked || undefined);
  const formsBasis = formsWritten !== undefined ? `${fmt(formsWritten)} forms into the form topic` : `${fmt(acked)} forms acknowledged`;
  if (formsWritten !== undefined && acked > 0 && formsWritten > acked * 1.2 + 10) {
    notes.push(
      `the stack took in ${fmt(formsWritten)} forms while this run had ${fmt(acked)} acknowledged: other load shared the stack; costs divide everything the stack did by everything it took in`,
    );
  }
  if (formsWritten === undefined && acked) notes.push("no Kafka offsets in the samples: forms counted from this run's acknowledgements");

  // ---- CPU per unit ----
  const loads = seconds > 0 ? serviceLoads(samples, fromMs, toMs, seconds, topology) : [];
  calibration.services = loads;
  const load = (kind: string) => loads.find((l) => l.kind === kind);
  const noCpu = loads.length
    ? undefined
    : 'no per-process CPU samples (source "process", local stack) and no single-service VM host samples';

  const web = load('django');
  const restoreCount =
    results.summary?.endpoints?.restore?.count ??
    results.timeseries.filter((r) => r.endpoint === 'restore').reduce((s, r) => s + r.requests, 0);
  const casesKnown = restoredCases !== undefined && restores !== undefined && restores > 0;
  if (!web) {
    add('web_cpu_per_form', 'Web worker CPU per form', 'CPU s', undefined, noCpu ?? 'no web worker CPU');
    add('web_cpu_per_restored_case', 'Web worker CPU per restored case', 'CPU s', undefined, noCpu ?? 'no web worker CPU');
  } else if (!forms && !(restoredCases && restoredCases > 0)) {
    add('web_cpu_per_form', 'Web worker CPU per form', 'CPU s', undefined, 'no forms in the window');
    add('web_cpu_per_restored_case', 'Web worker CPU per restored case', 'CPU s', undefined, 'no restores in the window');
  } else if (!restoredCases || !casesKnown) {
    add(
      'web_cpu_per_form',
      'Web worker CPU per form',
      'CPU s',
      forms ? web.cpuSeconds / forms : undefined,
      `${fmt(web.cpuSeconds)} CPU s (${web.processes.length} web workers) / ${formsBasis}${restoreCount ? `; includes ${fmt(restoreCount)} restores (cases per restore not sampled)` : ''}`,
      '"1 gunicorn worker can handle 1 request every 2 seconds"',
    );
    add(
      'web_cpu_per_restored_case',
      'Web worker CPU per restored case',
      'CPU s',
      undefined,
      restoreCount ? 'restored cases not sampled (local_store synclog_cases)' : 'no restores in this run',
    );
  } else if (!forms) {
    add('web_cpu_per_form', 'Web worker CPU per form', 'CPU s', undefined, 'no forms in the window');
    add(
      'web_cpu_per_restored_case',
      'Web worker CPU per restored case',
      'CPU s',
      web.cpuSeconds / restoredCases,
      `${fmt(web.cpuSeconds)} CPU s / ${fmt(restoredCases)} cases restored`,
    );
  } else {
    // Both kinds of work: split the CPU by regression over ticks, else by share of request time.
    const cpuSeries = samples.get('process', 'cpu_seconds', { service: 'django' });
    const ticks = sumByTime(cpuSeries).t.filter((t) => t >= fromMs && t <= toMs);
    const y = deltasAt(cpuSeries, ticks);
    const x1 = deltasAt(formTopics, ticks);
    const x2 = deltasAt(samples.get('local_store', 'synclog_cases'), ticks);
    const fit = y && x1 && x2 && y.length >= 6 ? nnls2(x1, x2, y) : undefined;
    if (fit && fit.a > 0 && fit.b > 0 && fit.r2 >= 0.5) {
      add(
        'web_cpu_per_form',
        'Web worker CPU per form',
        'CPU s',
        fit.a,
        `regression of web CPU on forms and restored cases over ${y!.length} intervals (R² ${fit.r2.toFixed(2)})`,
        '"1 gunicorn worker can handle 1 request every 2 seconds"',
      );
      add('web_cpu_per_restored_case', 'Web worker CPU per restored case', 'CPU s', fit.b, `same regression (R² ${fit.r2.toFixed(2)})`);
    } else {
      const time = (ep: string) => results.timeseries.filter((r) => r.endpoint === ep).reduce((s, r) => s + r.requests * r.p50, 0);
      const tForms = time('receiver');
      const tRestore = time('restore');
      const share = tForms + tRestore > 0 ? tForms / (tForms + tRestore) : 1;
      add(
        'web_cpu_per_form',
        'Web worker CPU per form',
        'CPU s',
        (web.cpuSeconds * share) / forms,
        `${fmt(web.cpuSeconds)} CPU s split by request time (${(share * 100).toFixed(0)} % submissions${fit ? `; regression R² ${fit.r2.toFixed(2)} too weak` : ''}) / ${formsBasis}`,
        '"1 gunicorn worker can handle 1 request every 2 seconds"',
      );
      add(
        'web_cpu_per_restored_case',
        'Web worker CPU per restored case',
        'CPU s',
        (web.cpuSeconds * (1 - share)) / restoredCases,
        `${fmt(web.cpuSeconds)} CPU s x ${((1 - share) * 100).toFixed(0)} % restore request time / ${fmt(restoredCases)} cases restored`,
      );
    }
  }
  // Restore latency per case and case load per restore
  const restoreAvg = results.k6?.metrics['http_req_duration{endpoint:restore}']?.avg;
  if (casesKnown && restoredCases! > 0 && restoreCount > 0 && typeof restoreAvg === 'number') {
    add(
      'restore_ms_per_case',
      'Restore time per case',
      'ms',
      (restoreAvg * restoreCount) / restoredCases!,
      `${fmt(restoreCount)} restores x ${fmt(restoreAvg)} ms mean / ${fmt(restoredCases!)} cases restored`,
    );
  } else {
    add(
      'restore_ms_per_case',
      'Restore time per case',
      'ms',
      undefined,
      restoreCount ? 'restored cases not sampled' : 'no restores in this run',
    );
  }
  add(
    'cases_per_restore',
    'Cases per restore',
    'cases',
    casesKnown ? restoredCases! / restores! : undefined,
    casesKnown ? `${fmt(restoredCases!)} cases / ${fmt(restores!)} restores (sync log)` : 'no restores sampled',
  );

  const pillows = load('pillowtop');
  const processed = seriesIncrease(samples.get('pillows', 'checkpoint_offset'), fromMs, toMs);
  add(
    'pillow_cpu_per_change',
    'Pillow CPU per change processed',
    'CPU s',
    pillows && processed ? pillows.cpuSeconds / processed : undefined,
    pillows
      ? processed
        ? `${fmt(pillows.cpuSeconds)} CPU s (${pillows.processes.join(', ')}) / ${fmt(processed)} changes checkpointed`
        : 'no pillow checkpoints moved'
      : (noCpu ?? 'no pillow CPU'),
  );
  const perForm = (kind: string, key: CostKey, label: string) => {
    const l = load(kind);
    add(
      key,
      label,
      'CPU s',
      l && forms ? l.cpuSeconds / forms : undefined,
      l ? (forms ? `${fmt(l.cpuSeconds)} CPU s / ${formsBasis}` : 'no forms') : (noCpu ?? `no ${kind} CPU`),
    );
  };
  perForm('pillowtop', 'pillow_cpu_per_form', 'Pillow CPU per form (all pillows)');
  perForm('postgresql', 'pg_cpu_per_form', 'PostgreSQL CPU per form');
  perForm('elasticsearch', 'es_cpu_per_form', 'Elasticsearch CPU per form');
  perForm('kafka', 'kafka_cpu_per_form', 'Kafka CPU per form');
  perForm('redis', 'redis_cpu_per_form', 'Redis CPU per form');
  const nginx = load('nginx');
  add(
    'nginx_cpu_per_request',
    'nginx CPU per request',
    'CPU s',
    nginx && requests ? nginx.cpuSeconds / requests : undefined,
    nginx ? (requests ? `${fmt(nginx.cpuSeconds)} CPU s / ${fmt(requests)} requests` : 'no requests') : (noCpu ?? 'no nginx CPU'),
  );

  // ---- PostgreSQL bytes ----
  const tables = samples.get('postgres', 'table_bytes');
  const rowsSeries = samples.get('postgres', 'table_live_rows');
  const byKind = (list: Series[], kind: string) => list.filter((s) => tableKind(s.labels.table ?? '') === kind);
  const pg: Record<string, StoreSize> = {};
  for (const kind of ['form', 'case', 'transaction', 'case_index', 'ucr', 'ledger', 'synclog']) {
    pg[kind] = storeSize(firstLast(byKind(tables, kind), fromMs, toMs), firstLast(byKind(rowsSeries, kind), fromMs, toMs), 'rows');
  }
  const pgRef: Record<string, string> = { form: '~917-1200 B', case: '~1.7-2 KB', transaction: '~515-533 B', case_index: '~409 B' };
  const noTables = tables.length ? undefined : 'no PostgreSQL table sizes in the samples';
  add('pg_bytes_per_form_row', 'PostgreSQL bytes per form (form table)', 'B', pg.form!.unit, noTables ?? pg.form!.basis, pgRef.form);
  add('pg_bytes_per_case', 'PostgreSQL bytes per case', 'B', pg.case!.unit, noTables ?? pg.case!.basis, pgRef.case);
  add(
    'pg_bytes_per_transaction',
    'PostgreSQL bytes per case transaction',
    'B',
    pg.transaction!.unit,
    noTables ?? pg.transaction!.basis,
    pgRef.transaction,
  );
  add(
    'pg_bytes_per_case_index',
    'PostgreSQL bytes per case index',
    'B',
    pg.case_index!.unit,
    noTables ?? pg.case_index!.basis,
    pgRef.case_index,
  );
  add('pg_bytes_per_ucr_row', 'PostgreSQL bytes per UCR row', 'B', pg.ucr!.unit, noTables ?? pg.ucr!.basis);
  // rows of each kind per form: growth when the form table grew, else what the tables hold
  const f = pg.form!;
  const ratio = (k: string): number | undefined => {
    const s = pg[k]!;
    if (f.deltaRows !== undefined && f.deltaRows >= 10 && s.deltaRows !== undefined) return Math.max(0, s.deltaRows) / f.deltaRows;
    if (f.rows && s.rows !== undefined) return s.rows / f.rows;
    return undefined;
  };
  const ratioBasis = f.deltaRows !== undefined && f.deltaRows >= 10 ? 'rows added' : 'rows held';
  const casesPerForm = ratio('case');
  const txPerForm = ratio('transaction');
  add('cases_per_form', 'New cases per form', 'cases', casesPerForm, noTables ?? `${ratioBasis}: case table / form table`);
  add(
    'transactions_per_form',
    'Case transactions per form',
    'rows',
    txPerForm,
    noTables ?? `${ratioBasis}: transaction table / form table`,
  );
  let allIn: number | undefined;
  const parts: string[] = [];
  if (f.unit !== undefined) {
    allIn = 0;
    for (const k of ['form', 'case', 'transaction', 'case_index', 'ucr', 'ledger']) {
      const u = pg[k]!.unit;
      const r = k === 'form' ? 1 : ratio(k);
      if (u === undefined || r === undefined) continue;
      allIn += u * r;
      parts.push(`${k} ${fmt(u * r)}`);
    }
  }
  add(
    'pg_bytes_per_form',
    'PostgreSQL bytes per form, all tables it writes',
    'B',
    allIn,
    noTables ?? (allIn !== undefined ? `sum of per-row sizes x rows per form (${parts.join(' + ')})` : pg.form!.basis),
    '~1000 B (form only) in the example config',
  );
  const dbBytes =
    firstLast(samples.get('postgres', 'database_bytes', { database: 'commcarehq' }), fromMs, toMs) ??
    firstLast(samples.get('postgres', 'database_bytes'), fromMs, toMs);
  const dbGrowth = dbBytes ? dbBytes.last - dbBytes.first : undefined;
  add(
    'pg_db_bytes_per_form',
    'PostgreSQL database growth per form (cross-check)',
    'B',
    dbGrowth !== undefined && dbGrowth >= MIN_GROWTH_BYTES && forms ? dbGrowth / forms : undefined,
    dbGrowth === undefined
      ? 'no database size readings'
      : dbGrowth < MIN_GROWTH_BYTES
        ? `database grew ${fmt(dbGrowth)} B: too little to measure`
        : `+${fmt(dbGrowth)} B / ${formsBasis}`,
  );
  const sl = pg.synclog!;
  add(
    'synclog_bytes_per_restore',
    'Sync log bytes per restore',
    'B',
    sl.deltaBytes !== undefined && sl.deltaBytes >= MIN_GROWTH_BYTES && restores ? sl.deltaBytes / restores : sl.unit,
    sl.deltaBytes !== undefined && sl.deltaBytes >= MIN_GROWTH_BYTES && restores
      ? `growth: +${fmt(sl.deltaBytes)} B / ${fmt(restores)} restores`
      : (noTables ?? sl.basis),
    '~210 KB kept 2 months',
  );

  // ---- Elasticsearch ----
  const esBytes = samples.get('elasticsearch', 'index_store_bytes');
  const esDocs = samples.get('elasticsearch', 'index_docs');
  const es: Record<string, StoreSize> = {};
  for (const kind of ['form', 'case']) {
    es[kind] = storeSize(
      firstLast(
        esBytes.filter((s) => indexKind(s.labels.index ?? '') === kind),
        fromMs,
        toMs,
      ),
      firstLast(
        esDocs.filter((s) => indexKind(s.labels.index ?? '') === kind),
        fromMs,
        toMs,
      ),
      'documents',
      true, // segments merge: what an index holds per document is steadier than what a few minutes add
    );
  }
  const noEs = esBytes.length ? undefined : 'no Elasticsearch index sizes in the samples';
  add('es_bytes_per_form_doc', 'Elasticsearch bytes per form document', 'B', es.form!.unit, noEs ?? es.form!.basis);
  add('es_bytes_per_case_doc', 'Elasticsearch bytes per case document', 'B', es.case!.unit, noEs ?? es.case!.basis);
  const caseDocsPerForm = es.form!.rows && es.case!.rows !== undefined ? es.case!.rows / es.form!.rows : casesPerForm;
  add(
    'es_bytes_per_form',
    'Elasticsearch bytes per form, with its cases (one copy)',
    'B',
    es.form!.unit !== undefined ? es.form!.unit + (es.case!.unit ?? 0) * (caseDocsPerForm ?? 0) : undefined,
    noEs ??
      (es.form!.unit !== undefined
        ? `form document + ${fmt(caseDocsPerForm ?? 0)} case documents per form x case document size`
        : es.form!.basis),
    '~5.5 KB per form with 2 replicas',
  );

  // ---- Kafka ----
  const logBytes = samples.get('local_store', 'kafka_log_bytes').filter((s) => isHqTopic(s.labels.topic ?? ''));
  let kafkaUnit: number | undefined;
  let kafkaBasis: string;
  if (!logBytes.length) kafkaBasis = 'no Kafka log sizes in the samples (local_store kafka_log_bytes, local stack only)';
  else {
    const topics = [...new Set(logBytes.map((s) => s.labels.topic!))];
    const b = firstLast(logBytes, fromMs, toMs);
    const o = firstLast(
      hqTopics.filter((s) => topics.includes(s.labels.topic!)),
      fromMs,
      toMs,
    );
    const size = storeSize(b, o, 'changes');
    kafkaUnit = size.unit;
    kafkaBasis = `${size.basis} (${topics.sort().join(', ')})`;
  }
  add('kafka_bytes_per_change', 'Kafka bytes per change', 'B', kafkaUnit, kafkaBasis, '~500 B per change kept 2 months');
  add(
    'kafka_changes_per_form',
    'Kafka changes per form',
    'changes',
    changes !== undefined && formsWritten ? changes / formsWritten : undefined,
    changes !== undefined && formsWritten
      ? `${fmt(changes)} changes (all HQ topics) / ${fmt(formsWritten)} form changes`
      : 'no Kafka offsets',
  );

  // ---- Object storage (proxy) ----
  const sent = results.k6?.metrics.data_sent?.count;
  const submissions = results.summary?.endpoints?.receiver?.count ?? acked;
  add(
    'request_bytes_per_form',
    'Bytes sent per submission (object storage proxy)',
    'B',
    typeof sent === 'number' && submissions ? sent / submissions : undefined,
    typeof sent === 'number' && submissions
      ? `k6 data_sent ${fmt(sent)} B / ${fmt(submissions)} submissions${restoreCount ? ' (restore requests included, they are small)' : ''}`
      : 'no k6 data_sent or no submissions',
  );

  // the exports' costs carry the run's source like the rest (a local run's are the stand-in's)
  costs.push(...exportCosts(results).map((c) => (source ? { ...c, source } : c)));
  return calibration;
}
