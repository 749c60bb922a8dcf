// Calibration, projection and verdicts on a small synthetic results directory whose figures are worked out by
// hand in the comments.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Topology } from '../topology/model.ts';
import { calibrate, cost, nnls2, tableKind, type Calibration } from './calibrate.ts';
import { cpuDemands, kindOfName, project, targetLoad, verdicts, type Target } from './project.ts';
import { increase, integrate, loadResults, type Sample } from '../results-dir/index.ts';
import { signalsByRow } from './signals.ts';
import { parseSizingConfig } from './sizing/index.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TICKS = [0, 10, 20, 30].map((s) => T0 + s * 1000);

type Line = Sample;

function counter(
  source: string,
  metric: string,
  labels: Record<string, string>,
  values: number[],
  ticks = TICKS,
  host = 'localhost',
): Line[] {
  return values.map((value, i) => ({ ts: new Date(ticks[i]!).toISOString(), source, host, metric, value, labels }));
}

/** The synthetic run: 300 forms over 30 s, 4 ticks 10 s apart. */
export function writeSyntheticResults(dir: string, opts: { withRestores?: boolean } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const first = [TICKS[0]!, TICKS[3]!];
  const lines: Line[] = [
    // web workers: +3 and +1.5 CPU s = 4.5 CPU s
    ...counter('process', 'cpu_seconds', { process: 'web-1', service: 'django' }, [100, 101, 102, 103]),
    ...counter('process', 'cpu_seconds', { process: 'web-2', service: 'django' }, [50, 50.5, 51, 51.5]),
    ...counter('process', 'cpu_cores', { process: 'web-1', service: 'django' }, [0.1, 0.1, 0.1], TICKS.slice(1)),
    ...counter('process', 'rss_bytes', { process: 'web-1', service: 'django' }, [2e8, 2e8, 2e8, 2e8]),
    ...counter('process', 'rss_bytes', { process: 'web-2', service: 'django' }, [1e8, 1e8, 1e8, 1e8]),
    // one pillow: +1.5 CPU s; PostgreSQL +3 CPU s
    ...counter('process', 'cpu_seconds', { process: 'pillow-xform', service: 'pillowtop' }, [10, 10.5, 11, 11.5]),
    ...counter('process', 'cpu_seconds', { process: 'postgres', service: 'postgresql' }, [200, 201, 202, 203]),
    // Kafka: +300 form changes, +600 case changes
    ...counter('kafka', 'topic_end_offset', { topic: 'form-sql' }, [1000, 1100, 1200, 1300]),
    ...counter('kafka', 'topic_end_offset', { topic: 'case-sql' }, [2000, 2200, 2400, 2600]),
    ...counter('kafka', 'topic_end_offset', { topic: '__consumer_offsets' }, [5, 5, 5, 5]),
    ...counter('pillows', 'checkpoint_offset', { pillow: 'xform-pillow', topic: 'form-sql', partition: '0' }, [990, 1090, 1190, 1290]),
    // Kafka log: +210,000 + 240,000 B over 900 changes = 500 B per change
    ...counter('local_store', 'kafka_log_bytes', { topic: 'form-sql' }, [500_000, 570_000, 640_000, 710_000]),
    ...counter('local_store', 'kafka_log_bytes', { topic: 'case-sql' }, [1_000_000, 1_080_000, 1_160_000, 1_240_000]),
    ...counter('local_store', 'kafka_log_bytes', { topic: '__cluster_metadata' }, [9e9, 9e9, 9e9, 9e9]),
    // PostgreSQL tables, read at the first and last tick
    ...counter(
      'postgres',
      'table_bytes',
      { database: 'commcarehq', table: 'public.form_processor_xforminstancesql' },
      [10_000_000, 10_600_000],
      first,
    ),
    ...counter(
      'postgres',
      'table_live_rows',
      { database: 'commcarehq', table: 'public.form_processor_xforminstancesql' },
      [10_000, 10_300],
      first,
    ),
    ...counter(
      'postgres',
      'table_bytes',
      { database: 'commcarehq', table: 'public.form_processor_commcarecasesql' },
      [20_000_000, 21_200_000],
      first,
    ),
    ...counter(
      'postgres',
      'table_live_rows',
      { database: 'commcarehq', table: 'public.form_processor_commcarecasesql' },
      [10_000, 10_600],
      first,
    ),
    ...counter(
      'postgres',
      'table_bytes',
      { database: 'commcarehq', table: 'public.form_processor_casetransaction' },
      [15_000_000, 15_450_000],
      first,
    ),
    ...counter(
      'postgres',
      'table_live_rows',
      { database: 'commcarehq', table: 'public.form_processor_casetransaction' },
      [30_000, 30_900],
      first,
    ),
    // case index: one page of growth, too little: footprint 1,008,192 / 5,100
    ...counter(
      'postgres',
      'table_bytes',
      { database: 'commcarehq', table: 'public.form_processor_commcarecaseindexsql' },
      [1_000_000, 1_008_192],
      first,
    ),
    ...counter(
      'postgres',
      'table_live_rows',
      { database: 'commcarehq', table: 'public.form_processor_commcarecaseindexsql' },
      [5_000, 5_100],
      first,
    ),
    ...counter('postgres', 'database_bytes', { database: 'commcarehq' }, [100_000_000, 102_400_000], first),
    ...counter('postgres', 'tps', { database: 'commcarehq' }, [50, 60, 70], TICKS.slice(1)),
    // Elasticsearch: footprints 31,000,000 / 10,300 and 16,480,000 / 20,600 = 800
    ...counter('elasticsearch', 'index_docs', { index: 'xforms' }, [10_000, 10_300], first),
    ...counter('elasticsearch', 'index_store_bytes', { index: 'xforms' }, [30_000_000, 31_000_000], first),
    ...counter('elasticsearch', 'index_docs', { index: 'hqcases' }, [20_000, 20_600], first),
    ...counter('elasticsearch', 'index_store_bytes', { index: 'hqcases' }, [16_000_000, 16_480_000], first),
    ...counter('elasticsearch', 'indexing_per_s', { node: 'n1' }, [30, 30, 30], TICKS.slice(1)),
    // the host: CPU maxed in every reading, iowait low, no swapping
    ...counter('host', 'cpu_busy_pct', { via: 'proc' }, [95, 96, 97, 99]),
    ...counter('host', 'cpu_iowait_pct', { via: 'proc' }, [1, 2, 1, 2]),
    ...counter('host', 'swap_in_pages_per_s', { via: 'proc' }, [0, 0, 0, 0]),
    ...counter('host', 'swap_out_pages_per_s', { via: 'proc' }, [0, 0, 0, 0]),
    ...counter('nginx', 'requests_per_s', {}, [10, 10, 10], TICKS.slice(1)),
    {
      ts: new Date(TICKS[2]!).toISOString(),
      source: 'redis',
      host: 'localhost',
      metric: 'gap',
      value: 1,
      labels: { collector: 'redis@localhost' },
      gap: true,
      error: 'connect ECONNREFUSED',
    },
  ];
  if (opts.withRestores) {
    // restores: 4 restores of 50 cases = 200 cases; web CPU grows by 0.015 x forms + 0.0075 x cases per interval
    lines.push(...counter('local_store', 'synclogs', {}, [10, 11, 13, 14]));
    lines.push(...counter('local_store', 'synclog_cases', {}, [500, 550, 650, 700]));
  }
  fs.writeFileSync(path.join(dir, 'samples.ndjson'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const acks = Array.from({ length: 300 }, (_, i) =>
    JSON.stringify({ ack: `f${i}`, t: T0 + i * 100, w: i % 7, form: i % 3 ? 'visit' : 'register' }),
  );
  fs.writeFileSync(path.join(dir, 'acks.ndjson'), acks.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'k6-summary.json'), JSON.stringify({ metrics: { data_sent: { count: 3_000_000, rate: 1 } } }));
  const ts = ['second,endpoint,requests,failed,p50_ms,p95_ms,p99_ms,max_ms,dropped_iterations,vus'];
  for (let s = 0; s < 30; s++) ts.push(`${T0 / 1000 + s},receiver,10,${s === 5 ? 1 : 0},20,40,60,80,0,5`);
  fs.writeFileSync(path.join(dir, 'timeseries.csv'), ts.join('\n') + '\n');
  fs.writeFileSync(
    path.join(dir, 'summary.json'),
    JSON.stringify({
      scenario: 'steady',
      target: 'synthetic',
      startedAt: new Date(T0).toISOString(),
      endedAt: new Date(T0 + 30_000).toISOString(),
      durationS: 30,
      requests: 300,
      failedRequests: 1,
      failedRate: 1 / 300,
      acknowledged: 300,
      acknowledgedPerSec: 10,
      droppedIterations: 0,
      corpusExhausted: 0,
      endpoints: { receiver: { count: 300, failed: 1, p50: 20, p95: 40, p99: 60, max: 80 } },
      thresholds: [{ metric: 'http_req_failed', expression: 'rate<0.001', ok: false }],
      thresholdsPassed: false,
      liveness: { followed: 0, searchable: 0, neverSearchable: 0 },
      k6ExitCode: 99,
      interrupted: false,
      outcome: 'thresholds-failed',
      message: 'http_req_failed',
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ scenario: 'steady', startedAt: new Date(T0).toISOString(), target: { kind: 'local' }, parameters: { users: 20 } }),
  );
}

const close = (actual: number | undefined, expected: number, what: string, tol = 1e-9) => {
  assert.ok(actual !== undefined, `${what}: not measured`);
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
};

async function synthetic(opts: { withRestores?: boolean } = {}): Promise<Calibration> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-calib-'));
  writeSyntheticResults(dir, opts);
  return calibrate(await loadResults(dir));
}

describe('calibration from a synthetic results directory', () => {
  it('counts: forms from the form topic, changes from every HQ topic, requests from nginx', async () => {
    const c = await synthetic();
    assert.equal(c.window?.seconds, 30);
    assert.equal(c.counts.formsAcknowledged, 300);
    assert.equal(c.counts.formsWritten, 300);
    assert.equal(c.counts.changes, 900);
    assert.equal(c.counts.requests, 300); // 10/s held over 3 intervals of 10 s
    assert.deepEqual(c.notes, []);
  });

  it('CPU per unit: 4.5 web CPU s / 300 forms, 1.5 pillow CPU s / 300 changes, 3 PostgreSQL CPU s / 300 forms', async () => {
    const c = await synthetic();
    close(cost(c, 'web_cpu_per_form'), 0.015, 'web');
    close(cost(c, 'pillow_cpu_per_change'), 0.005, 'pillow per change');
    close(cost(c, 'pillow_cpu_per_form'), 0.005, 'pillow per form');
    close(cost(c, 'pg_cpu_per_form'), 0.01, 'pg');
    assert.equal(cost(c, 'es_cpu_per_form'), undefined);
    assert.match(c.costs.find((x) => x.key === 'es_cpu_per_form')!.basis, /no elasticsearch CPU/);
    const web = c.services.find((s) => s.kind === 'django')!;
    close(web.meanCores, 4.5 / 30, 'mean cores');
    assert.equal(web.peakRssBytes, 3e8);
    assert.deepEqual(web.processes, ['web-1', 'web-2']);
  });

  it('PostgreSQL bytes: growth where it is big enough, footprint where it is not, all tables per form', async () => {
    const c = await synthetic();
    close(cost(c, 'pg_bytes_per_form_row'), 600_000 / 300, 'form row');
    close(cost(c, 'pg_bytes_per_case'), 1_200_000 / 600, 'case');
    close(cost(c, 'pg_bytes_per_transaction'), 450_000 / 900, 'transaction');
    close(cost(c, 'pg_bytes_per_case_index'), 1_008_192 / 5_100, 'case index (footprint)');
    assert.match(c.costs.find((x) => x.key === 'pg_bytes_per_case_index')!.basis, /^footprint \(growth too small/);
    close(cost(c, 'cases_per_form'), 2, 'cases per form');
    close(cost(c, 'transactions_per_form'), 3, 'transactions per form');
    // 2000 + 2 x 2000 + 3 x 500 + (100 / 300) x 197.68...
    close(cost(c, 'pg_bytes_per_form'), 2000 + 4000 + 1500 + 1_008_192 / 5_100 / 3, 'all tables per form');
    close(cost(c, 'pg_db_bytes_per_form'), 2_400_000 / 300, 'database growth per form');
  });

  it('Elasticsearch bytes per document (footprint) and per form with its cases; Kafka bytes per change; bytes per submission', async () => {
    const c = await synthetic();
    close(cost(c, 'es_bytes_per_form_doc'), 31_000_000 / 10_300, 'form doc');
    close(cost(c, 'es_bytes_per_case_doc'), 800, 'case doc');
    close(cost(c, 'es_bytes_per_form'), 31_000_000 / 10_300 + 2 * 800, 'per form');
    close(cost(c, 'kafka_bytes_per_change'), 450_000 / 900, 'kafka');
    close(cost(c, 'kafka_changes_per_form'), 3, 'changes per form');
    close(cost(c, 'request_bytes_per_form'), 10_000, 'bytes per submission');
    assert.equal(cost(c, 'web_cpu_per_restored_case'), undefined);
    assert.match(c.costs.find((x) => x.key === 'web_cpu_per_restored_case')!.basis, /no restores/);
  });

  it('forms and restores together: web CPU split by regression over the ticks', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-calib-'));
    writeSyntheticResults(dir, { withRestores: true });
    // rewrite web CPU: per interval 0.015 x 100 forms + 0.0075 x (50, 100, 50) cases = 1.875, 2.25, 1.875 s, more ticks
    const ticks = Array.from({ length: 8 }, (_, i) => T0 + i * 10_000);
    const forms = [0, 100, 180, 300, 330, 400, 520, 600];
    const cases = [0, 50, 150, 200, 320, 340, 340, 420];
    const cpu = forms.map((f, i) => 100 + 0.015 * f + 0.0075 * cases[i]!);
    const lines = fs
      .readFileSync(path.join(dir, 'samples.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter(
        (l) =>
          !(l.source === 'process' && l.labels.service === 'django') &&
          !(l.metric === 'topic_end_offset' && l.labels.topic === 'form-sql') &&
          l.source !== 'local_store',
      );
    lines.push(...counter('process', 'cpu_seconds', { process: 'web-1', service: 'django' }, cpu, ticks));
    lines.push(
      ...counter(
        'kafka',
        'topic_end_offset',
        { topic: 'form-sql' },
        forms.map((f) => 1000 + f),
        ticks,
      ),
    );
    lines.push(...counter('local_store', 'synclog_cases', {}, cases, ticks));
    lines.push(...counter('local_store', 'synclogs', {}, [0, 1, 3, 4, 6, 7, 7, 8], ticks));
    fs.writeFileSync(path.join(dir, 'samples.ndjson'), lines.map((l) => JSON.stringify(l)).join('\n'));
    const k6 = { metrics: { data_sent: { count: 3_000_000 }, 'http_req_duration{endpoint:restore}': { avg: 40 } } };
    fs.writeFileSync(path.join(dir, 'k6-summary.json'), JSON.stringify(k6));
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    summary.endpoints.restore = { count: 8, failed: 0, p50: 40, p95: 50, p99: 60, max: 70 };
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
    const c = calibrate(await loadResults(dir));
    close(cost(c, 'web_cpu_per_form'), 0.015, 'web per form', 1e-6);
    close(cost(c, 'web_cpu_per_restored_case'), 0.0075, 'web per restored case', 1e-6);
    assert.match(c.costs.find((x) => x.key === 'web_cpu_per_form')!.basis, /regression .* 7 intervals \(R² 1\.00\)/);
    close(cost(c, 'cases_per_restore'), 420 / 8, 'cases per restore');
    close(cost(c, 'restore_ms_per_case'), (8 * 40) / 420, 'restore ms per case');
  });

  it('no samples at all: every sample-based cost says why, nothing is invented', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-calib-'));
    writeSyntheticResults(dir);
    fs.rmSync(path.join(dir, 'samples.ndjson'));
    const r = await loadResults(dir);
    assert.deepEqual(r.missing, ['liveness.ndjson', 'samples.ndjson']);
    const c = calibrate(r);
    assert.match(c.notes[0]!, /no collector samples/);
    assert.equal(cost(c, 'web_cpu_per_form'), undefined);
    assert.equal(cost(c, 'pg_bytes_per_form'), undefined);
    close(cost(c, 'request_bytes_per_form'), 10_000, 'k6 figures still there');
  });

  it('helpers: counter increase over restarts, integration of rates, least squares, table names', () => {
    assert.equal(increase([10, 15, 3, 8]), 5 + 3 + 5);
    assert.equal(integrate([0, 1000, 3000], [2, 4, 9]), 2 + 4 + 18);
    const fit = nnls2([1, 2, 3], [0, 1, 0], [2, 7, 6])!;
    close(fit.a, 2, 'a');
    close(fit.b, 3, 'b');
    // a negative coefficient is dropped: y = x1 only
    const one = nnls2([1, 2, 3], [3, 2, 1], [1, 2, 3])!;
    close(one.a, 1, 'a alone');
    assert.equal(one.b, 0);
    assert.equal(tableKind('public.form_processor_xforminstancesql'), 'form');
    assert.equal(tableKind('public.ucr_form_submissions'), 'ucr');
    assert.equal(tableKind('public.hq_domain'), undefined);
  });
});

describe('projection and verdicts', () => {
  const cal = (costs: Record<string, number>, services: Calibration['services'] = []): Calibration => ({
    counts: { formsAcknowledged: 0 },
    services,
    notes: [],
    costs: Object.entries(costs).map(([key, value]) => ({ key, label: key, unit: '', value, basis: 'test' })),
  });
  const target: Target = {
    start: '2030-05',
    users: 90_000,
    formsPerUserPerMonth: 30,
    caseLoad: 100,
    restoresPerUserPerDay: 1,
    months: 2,
    peakShare: 0.035,
    cpuTarget: 0.7,
    webUsers: 4500,
    exportsPerWebUserPerDay: 2,
    rowsPerExport: 2000,
  };

  it('target load: 2.7M forms a month -> 90,000 a day -> 3.5 forms/s in the peak 15 minutes', () => {
    const l = targetLoad(target);
    assert.equal(l.formsPerMonth, 2_700_000);
    close(l.peakFormsPerS, 3.5, 'peak forms/s');
    close(l.peakRestoresPerS, 3.5, 'peak restores/s');
    close(l.peakRestoredCasesPerS, 350, 'peak cases/s');
    close(l.peakFactor, 3.36, 'peak factor');
    const d = cpuDemands(cal({ web_cpu_per_form: 0.2, web_cpu_per_restored_case: 0.001, pillow_cpu_per_form: 0.1 }), target);
    close(d.find((x) => x.kind === 'django')!.peakCores, 3.5 * 0.2 + 350 * 0.001, 'web cores');
    close(d.find((x) => x.kind === 'pillowtop')!.peakCores, 0.35, 'pillow cores');
  });

  const CONFIG = `
estimation_buffer: 0
storage_buffer: 0
storage_display_unit: GB
vm_os_storage_gb: 40
vm_os_storage_group: VM_os
usage:
  users:
    model: date_range_value
    ranges: [['20240101', '20240101', 10]]
  forms_monthly: { model: derived_factor, dependant_field: users, factor: 5 }
  forms_total: { model: cumulative, dependant_field: forms_monthly }
services:
  pg_main:
    static_number: 1
    process: { cores_per_node: 2, ram_per_node: 8 }
    storage:
      data_models:
        - { referenced_field: forms_total, unit_size: 1000 }
  django:
    usage_capacity_per_node: 1000
    process: { cores_per_node: 2, ram_per_node: 4 }
  celery:
    static_number: 1
    process: { cores_per_node: 8, ram_per_node: 16 }
  redis:
    static_number: 1
    process: { cores_per_node: 1, ram_per_node: 8 }
    storage:
      data_models:
        - { referenced_field: users, unit_size: 1000 }
  nginx:
    static_number: 1
    process: { cores_per_node: 2, ram_per_node: 4 }
    storage: { static_baseline: 50GB }
  couchdb:
    static_number: 1
    process: { cores_per_node: 2, ram_per_node: 4 }
    storage:
      static_baseline: 100GB
      data_models:
        - { referenced_field: users, unit_size: 10 }
`;
  const rows = [
    { name: 'pg_main', coresPerVm: 2, ramGbPerVm: 8, storageGbPerVm: 12, vmCount: 1 },
    { name: 'django', coresPerVm: 1, ramGbPerVm: 4, storageGbPerVm: 0, vmCount: 1 },
    { name: 'celery', coresPerVm: 16, ramGbPerVm: 16, storageGbPerVm: 0, vmCount: 2 },
    { name: 'redis', coresPerVm: 1, ramGbPerVm: 8, storageGbPerVm: 0.076, vmCount: 1 },
    { name: 'nginx', coresPerVm: 2, ramGbPerVm: 4, storageGbPerVm: 50, vmCount: 1 },
    { name: 'couchdb', coresPerVm: 2, ramGbPerVm: 4, storageGbPerVm: 100, vmCount: 1 },
  ];
  const config = parseSizingConfig(CONFIG, 'test.yml');

  it("the projection starts at the run's month (or the given start), never at the config's dates", () => {
    const { start: _omit, ...noStart } = target;
    const p = project(config, undefined, noStart, '2031-03');
    assert.equal(p.start, '2031-03');
    assert.equal(p.targetSources.start, "the run's month");
    assert.deepEqual(p.sizing.months, ['2031-03', '2031-04']);
    assert.equal(project(config, undefined, { ...target, start: '2032-11' }, '2031-03').horizon, '2032-12');
    const now = new Date().toISOString().slice(0, 7);
    assert.equal(project(config, undefined, noStart).start, now);
  });

  it('each row says what its verdict rests on: measured, modelled or not measured', () => {
    const c = cal({ web_cpu_per_form: 0.3, pg_bytes_per_form: 2000, pg_cpu_per_form: 0.01 });
    const p = project(config, c, target);
    assert.deepEqual(p.sizing.months, ['2030-05', '2030-06']);
    assert.equal(p.horizon, '2030-06');
    assert.deepEqual(
      p.overrides.map((o) => [o.path, o.value]),
      [
        ['usage.forms_monthly.factor', 30],
        ['services.pg_main.storage.data_models.forms_total.unit_size', 2000],
        // 0.3 CPU s x 30 forms = 9 CPU s per user-month; 2 cores x 0.7 / 3.36 x 2,592,000 s / 9 = 120,000
        ['services.django.usage_capacity_per_node', 120_000],
      ],
    );
    const v = new Map(verdicts(rows, p, c, undefined, new Map()).map((x) => [x.row.name, x]));
    // pg_main: storage grows from the target's usage, 2.7M forms/month: 2.7 then 5.4 GB at the config's 1000 B
    // (modelled), 5.4 then 10.8 GB at the measured 2000 B, shown as the resource model rounds them (5.4 -> 5.5,
    // 10.8 -> 10.9: tenth_round); CPU 3.5 forms/s x 0.01 = 0.035 of 1.4 usable cores.
    const pg = v.get('pg_main')!;
    const storage = (basis: string) => pg.checks.find((k) => k.resource === 'storage' && k.basis === basis)!;
    close(storage('modelled').need, 5.5, 'pg modelled storage');
    close(storage('measured').need, 10.9, 'pg measured storage');
    close(pg.checks.find((k) => k.resource === 'cpu')!.utilisation, 0.035 / 1.4, 'pg cpu');
    assert.deepEqual(
      pg.storageByMonth!.map((m) => m.gbPerVm),
      [5.5, 10.9],
    );
    assert.deepEqual([pg.label, pg.verdict], ['measured', 'enough']);
    close(pg.headroom!, 1 - 10.9 / 12, 'pg headroom');
    assert.equal(pg.storageFullAt, '2030-07'); // (12 - 10.9) / 5.4 a month: the month after the horizon
    assert.equal(pg.disagreement, undefined);
    // django: measured 3.5 x 0.3 = 1.05 cores of 0.7 usable; the measured CPU stands in for the modelled one.
    const web = v.get('django')!;
    assert.deepEqual([web.label, web.verdict, web.firstToRunOut], ['measured', 'short', 'cpu']);
    close(web.headroom!, 1 - 1.5, 'web headroom');
    // 90,000 users at the config's 1000 users per VM: 90 VMs x 2 cores on a 1-core row.
    close(web.checks.find((k) => k.basis === 'modelled')!.need, 180, 'web modelled cores');
    // celery: the config fixes its count and nothing measured it: not measured, no headroom.
    const celery = v.get('celery')!;
    assert.deepEqual([celery.label, celery.verdict, celery.headroom, celery.checks], ['not measured', 'not measured', undefined, []]);
    // redis keeps its data in RAM; nginx's disk has no data model; couchdb's need is its static baseline.
    for (const [name, note] of [
      ['redis', /Redis keeps its data in RAM/],
      ['nginx', /OS and software only/],
      ['couchdb', /static baseline: the disk is not judged/],
    ] as const) {
      assert.equal(v.get(name)!.verdict, 'not measured', name);
      assert.match(v.get(name)!.notes.join('\n'), note);
    }
  });

  it('celery, rabbitmq and redis rows: judged from the export costs, flipping with the export load', () => {
    const c = cal({
      celery_cpu_per_exported_row: 0.001,
      celery_cpu_per_export: 5,
      rabbitmq_cpu_per_export: 2,
      redis_cpu_per_form: 0.05,
      redis_cpu_per_export: 1.5,
    });
    for (const x of c.costs) x.source = 'URL target';
    const small = (n: string) => ({ name: n, coresPerVm: 2, ramGbPerVm: 8, storageGbPerVm: 0, vmCount: 1 });
    const three = [small('celery'), small('rabbitmq'), small('redis')];
    const judge = (t: Target) => new Map(verdicts(three, project(config, c, t), c, undefined, new Map()).map((x) => [x.row.name, x]));
    // 4,500 web users x 2 a day x 3.5 % in 15 minutes = 0.35 exports/s, 700 rows/s. Celery: 700 x 0.001 = 0.7 of
    // 1.4 usable cores (per row, not also per export); RabbitMQ 0.35 x 2 = 0.7; Redis 3.5 x 0.05 + 0.35 x 1.5 = 0.7.
    const d = new Map(cpuDemands(c, target).map((x) => [x.kind, x]));
    close(d.get('celery')!.peakCores, 0.7, 'celery cores');
    close(d.get('rabbitmq')!.peakCores, 0.7, 'rabbitmq cores');
    close(d.get('redis')!.peakCores, 0.7, 'redis cores');
    assert.match(d.get('rabbitmq')!.basis, /upper bound/);
    for (const [name, v] of judge(target)) assert.deepEqual([name, v.label, v.verdict], [name, 'measured', 'enough']);
    // 50 exports a day of 100,000 rows: every row runs short.
    const heavy = judge({ ...target, exportsPerWebUserPerDay: 50, rowsPerExport: 100_000 });
    for (const [name, v] of heavy) assert.deepEqual([name, v.verdict, v.firstToRunOut], [name, 'short', 'cpu']);
    // no export measured: celery and rabbitmq are not measured and say how to measure them
    const formsOnly = cal({ redis_cpu_per_form: 0.05 });
    const none = new Map(verdicts(three, project(config, formsOnly, target), formsOnly, undefined, new Map()).map((x) => [x.row.name, x]));
    for (const name of ['celery', 'rabbitmq']) {
      assert.equal(none.get(name)!.verdict, 'not measured', name);
      assert.match(none.get(name)!.notes.join('\n'), /run export-storm, or mixed-day/);
    }
    assert.match(cpuDemands(formsOnly, target).find((x) => x.kind === 'redis')!.basis, /exports not measured/);
  });

  it('the export load defaults: 1 web user per 20 mobile workers, 2 exports a day, their share of the cases', () => {
    const { webUsers: _w, exportsPerWebUserPerDay: _e, rowsPerExport: _r, ...rest } = target;
    const p = project(config, undefined, rest);
    assert.deepEqual([p.target.webUsers, p.target.exportsPerWebUserPerDay, p.target.rowsPerExport], [4500, 2, 2000]);
    assert.match(p.targetSources.webUsers!, /tool's assumption/);
    const given = project(config, undefined, { ...rest, webUsers: 10 });
    assert.deepEqual([given.target.rowsPerExport, given.targetSources.webUsers], [900_000, 'given']);
  });

  it("at the config's own population the modelled figures are the table itself: not a verdict", () => {
    const own: Target = { ...target, users: 10, formsPerUserPerMonth: 5, months: 1 };
    const v = new Map(verdicts(rows, project(config, undefined, own), undefined, undefined, new Map()).map((x) => [x.row.name, x]));
    assert.equal(v.get('django')!.verdict, 'not measured');
    assert.match(v.get('django')!.notes.join('\n'), /cpu \(modelled\): the target gives the config's own figure \(2 cores/);
    assert.equal(v.get('pg_main')!.verdict, 'not measured');
    assert.match(v.get('pg_main')!.notes.join('\n'), /storage \(modelled\): the target gives the config's own figure/);
    // ten times the users: a projection, judged
    const more = verdicts([rows[1]!], project(config, undefined, { ...own, users: 100_000 }), undefined, undefined, new Map())[0]!;
    assert.deepEqual([more.label, more.verdict], ['modelled', 'short']);
  });

  it('stand-in CPU for a Django-side row is advisory; measured and modelled are shown side by side when they disagree', () => {
    const c = cal({ web_cpu_per_form: 0.3 });
    for (const x of c.costs) x.source = 'local stand-in';
    const p = project(config, c, target);
    // the stand-in's web CPU does not size the web tier: users per VM stay the config's
    assert.ok(!p.overrides.some((o) => o.path === 'services.django.usage_capacity_per_node'));
    assert.match(
      p.skipped.join('\n'),
      /services\.django\.usage_capacity_per_node kept at the config's 1000: web CPU per form is the stand-in's/,
    );
    // four 8-core web VMs: 1.05 of 22.4 usable cores measured (stand-in) -> oversized; the config's capacity
    // gives 90 VMs x 2 = 180 cores of 32 -> short. The modelled verdict decides; both are kept.
    const big = verdicts(
      [{ name: 'django', coresPerVm: 8, ramGbPerVm: 16, storageGbPerVm: 0, vmCount: 4 }],
      p,
      c,
      undefined,
      new Map(),
    )[0]!;
    assert.equal(big.checks.find((k) => k.basis === 'measured')!.advisory, 'stand-in');
    assert.deepEqual([big.label, big.verdict], ['modelled', 'short']);
    close(big.headroom!, 1 - 180 / 32, 'modelled headroom');
    assert.equal(big.disagreement!.measured.verdict, 'oversized');
    assert.equal(big.disagreement!.measured.advisory, true);
    assert.equal(big.disagreement!.modelled.verdict, 'short');
    // with only a stand-in figure (no usage-driven count in the config), the verdict is measured and advisory
    const fixed = parseSizingConfig(CONFIG.replace('usage_capacity_per_node: 1000', 'static_number: 1'), 'f.yml');
    const one = verdicts([rows[1]!], project(fixed, c, target), c, undefined, new Map())[0]!;
    assert.deepEqual([one.label, one.verdict, one.advisory], ['measured', 'short', true]);
    // the same cost from a URL target decides
    for (const x of c.costs) x.source = 'URL target';
    const real = verdicts([rows[1]!], project(fixed, c, target), c, undefined, new Map())[0]!;
    assert.deepEqual([real.label, real.verdict, real.advisory], ['measured', 'short', undefined]);
  });

  it('service kinds from names; signals per VM row from host samples', async () => {
    assert.deepEqual(
      ['pg_main', 'es_datanode', 'django', 'pillowtop', 'riakcs', 'kafka', 'proxy', 'rabbitmq', 'web', 'couchdb', 'formplayer', 'x'].map(
        kindOfName,
      ),
      [
        'postgresql',
        'elasticsearch',
        'django',
        'pillowtop',
        'object_storage',
        'kafka',
        'nginx',
        'rabbitmq',
        'django',
        'couchdb',
        'formplayer',
        undefined,
      ],
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-calib-'));
    writeSyntheticResults(dir);
    const r = await loadResults(dir);
    const topology: Topology = {
      source: { path: 't', format: 'yaml' },
      warnings: [],
      rows: [{ name: 'local', coresPerVm: 2, ramGbPerVm: 8, storageGbPerVm: 50, vmCount: 1 }],
      hosts: [{ name: 'box', address: '127.0.0.1', row: 'local', groups: [], services: [] }],
    };
    const { hosts, byRow } = signalsByRow(r.samples, topology.rows, topology);
    assert.equal(hosts[0]!.row, 'local');
    assert.deepEqual(
      byRow.get('local')!.map((s) => s.name),
      ['cpu-maxed'],
    );
    assert.match(byRow.get('local')![0]!.detail, /100 % of 4 readings/);
  });
});
