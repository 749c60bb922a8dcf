import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readVmTable } from '../../topology/vm-table.ts';
import { parseSizingConfig, readSizingConfig } from './config.ts';
import { evaluate } from './expr.ts';
import { computeVmSummary, formatPlan } from './index.ts';
import { estimationBuffer } from './model.ts';
import { applyOverrides, capacityFromCpuCost, PERIOD_SECONDS } from './overrides.ts';
import { parseSize, tenthRound } from './units.ts';
import { computeUsage } from './usage.ts';
import { expectUserError } from '../../test/support/user-error.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const seedTopologyFixture = path.resolve(here, '..', '..', 'topology', 'fixtures', 'seed-000-multi-vm.txt');

// A small config of our own: 3 usage fields, 4 services (capacity-based, sub-processes, static with
// min_nodes, storage only). The expected table is worked out by hand below.
const SMALL = `
estimation_buffer: 0.2
storage_buffer: 0.25
storage_display_unit: GB
vm_os_storage_gb: 40
vm_os_storage_group: VM_os
summary_dates: ['2024-03']
usage:
  users:
    model: date_range_value
    ranges:
      - ['20240101', '20240201', 1000]
      - ['20240301', 2000]
  forms_monthly:
    model: derived_factor
    dependant_field: users
    factor: 50
  forms_total:
    model: cumulative
    dependant_field: forms_monthly
    start_with: 100000
services:
  pg_main:
    usage_capacity_per_node: 1500
    min_nodes: 1
    storage:
      group: SSD
      static_baseline: 10GB
      data_models:
        - referenced_field: forms_total
          unit_size: 1KB
    process: { cores_per_node: 4, ram_per_node: 16 }
  django:
    storage_scales_with_nodes: true
    process:
      cores_per_node: 4
      ram_per_node: 8
      cores_per_sub_process: 1
      ram_per_sub_process: 0.7
      sub_processes:
        - name: gunicorn
          capacity: 250
    storage: { group: VM_other, static_baseline: 50GB, override_storage_buffer: 0, override_estimation_buffer: 0 }
  kafka:
    static_number: 1
    min_nodes: 3
    storage:
      group: SAS
      data_models:
        - referenced_field: forms_monthly
          unit_size: 517
    process: { cores_per_node: 2, ram_per_node: 4 }
  object_storage:
    storage:
      group: S3
      data_models:
        - referenced_field: forms_total
          unit_size: 10KB
`;

describe('a commcare_resource_model style config, computed by hand', () => {
  const config = parseSizingConfig(SMALL, 'small.yml');

  it('usage month by month', () => {
    const u = computeUsage(config);
    assert.deepEqual(u.months, ['2024-01', '2024-02', '2024-03']);
    assert.deepEqual(u.fields.get('users'), [1000, 1000, 2000]);
    assert.deepEqual(u.fields.get('forms_monthly'), [50_000, 50_000, 100_000]); // users x 50
    assert.deepEqual(u.fields.get('forms_total'), [150_000, 200_000, 300_000]); // 100,000 + running total
  });

  it('gives the VM summary worked out by hand at 2024-03', () => {
    const result = computeVmSummary(config);
    assert.equal(result.summaries.length, 1);
    const s = result.summaries[0]!;
    assert.equal(s.month, '2024-03');
    assert.equal(s.users, 2000);
    // Month index 2, estimation buffer 0.2 (no growth factor).
    //
    // django: 2000 users / 250 per gunicorn = 8 processes; 8 x 1 core = 8 cores -> 8/4 = 2 VMs by cores,
    //   8 x 0.7 GB = 5.6 GB -> 0.7 VMs by RAM; cores win (last month) -> 2 VMs. Buffer ceil(2 x 0.2) = 1
    //   -> 3 VMs. Storage scales with nodes, static 50 GB, buffers overridden to 0 -> 50 GB per VM.
    // kafka: static_number 1 (no buffer VM) but min_nodes 3 -> 3 VMs. Storage 100,000 forms x 517 B x 1.25
    //   = 64,625,000 B; min_nodes raised the count, so (S + S x 0.2) = 77,550,000 B is spread over 3 VMs
    //   = 25,850,000 B = 0.02585 GB -> rounded up at 1e-4 (1 % of it is ~2.6e-4 -> 10^-4) = 0.0259 GB.
    // pg_main: ceil(2000 / 1500) = 2 VMs + ceil(2 x 0.2) = 1 buffer -> 3 VMs. Storage
    //   (300,000 forms x 1,000 B + 10 GB) x 1.25 = 12.875 GB spread over all 3 VMs (buffer VMs add no data)
    //   = 4.2917 GB per VM -> rounded up at 0.1 = 4.3 GB.
    // object_storage: no process, no VMs; storage only.
    assert.deepEqual(
      s.vmRows.map((r) => [r.name, r.coresPerVm, r.ramGbPerVm, r.storageGbPerVm, r.vmCount]),
      [
        ['django', 4, 8, 50, 3],
        ['kafka', 2, 4, 0.0259, 3],
        ['pg_main', 4, 16, 4.3, 3],
      ],
    );
    // Storage totals (GB, rounded up at ~1 %):
    //   pg_main 12.875 -> 12.9; django 50 x 3 = 150; kafka 0.07755 -> 0.078;
    //   object_storage 3.75 GB (300,000 x 10 KB x 1.25) + 20 % estimation buffer (once) = 4.5 -> 4.6, since
    //   tenth_round divides by numpy's 10^-1 = 0.09999999999999999 and 4.5 / that is just above 45.
    const byName = new Map(s.services.map((x) => [x.name, x]));
    assert.equal(byName.get('pg_main')!.storageTotal, 12.9);
    assert.equal(byName.get('django')!.storageTotal, 150);
    assert.equal(byName.get('kafka')!.storageTotal, 0.078);
    assert.equal(byName.get('object_storage')!.storageTotal, 4.6);
    assert.equal(byName.get('pg_main')!.vmBuffer, 1);
    assert.equal(byName.get('kafka')!.vmBuffer, 0);
    assert.deepEqual(s.storageOnly, [{ name: 'object_storage', storageTotal: 4.6, storageGroup: 'S3' }]);
    // Totals: 9 VMs; cores 3x4 + 3x2 + 3x4 = 30; RAM 3x8 + 3x4 + 3x16 = 84; OS disks 9 x 40 GB = 360 GB.
    assert.deepEqual(s.totals, { vms: 9, cores: 30, ramGb: 84, storageTotal: 167.578, osStorageGb: 360 });
    assert.deepEqual(s.storageByGroup, { SSD: 12.9, VM_other: 150, SAS: 0.078, S3: 4.6, VM_os: 360 });
  });

  it('prints the table in the seed format, which reads back to the same rows', () => {
    const result = computeVmSummary(config);
    const text = formatPlan(result);
    assert.match(text, /^2024-03 — 2000 users\n/);
    assert.match(text, /\n\| kafka \| 2 \| 4 \| 0\.0259 \| 3 \|\n/);
    assert.match(text, /Storage without VMs \(GB\): object_storage 4\.6/);
    const back = readVmTable(text, 'grid', 'plan.txt');
    assert.equal(back.title, 'VM summary');
    assert.deepEqual(
      back.rows.map((r) => [r.name, r.coresPerVm, r.ramGbPerVm, r.storageGbPerVm, r.vmCount]),
      result.summaries[0]!.vmRows.map((r) => [r.name, r.coresPerVm, r.ramGbPerVm, r.storageGbPerVm, r.vmCount]),
    );
    for (const style of ['grid', 'markdown', 'csv'] as const) {
      const t = formatPlan(result, style);
      const table = style === 'csv' ? t.slice(t.indexOf('Name,'), t.indexOf('\n\nTotal')) : t;
      assert.equal(readVmTable(table, style, 'p').rows.length, 3, style);
    }
  });

  it('summarises at other dates on request; earlier months are smaller', () => {
    const r = computeVmSummary(config, undefined, { dates: ['2024-01', '2024-03'] });
    // 2024-01: pg_main ceil(1000/1500) = 1 + ceil(0.2) = 1 -> 2 VMs; django 4 processes -> 1 VM + 1 -> 2.
    assert.deepEqual(
      r.summaries[0]!.vmRows.map((x) => [x.name, x.vmCount]),
      [
        ['django', 2],
        ['kafka', 3],
        ['pg_main', 2],
      ],
    );
    expectUserError(
      () => computeVmSummary(config, undefined, { dates: ['2025-01'] }),
      /^small\.yml: summary date 2025-01 is not a modelled month \(usage covers 2024-01 to 2024-03\)$/,
    );
  });
});

describe('the example config reproduces the seed VM summary', () => {
  it('capacity plan on examples/seed-multi-vm.yml prints the seed table byte for byte', () => {
    const config = readSizingConfig(path.join(here, 'examples', 'seed-multi-vm.yml'));
    const result = computeVmSummary(config);
    const text = formatPlan(result);
    const table = text.slice(text.indexOf('+'), text.indexOf('\nTotal:')).trimEnd();
    const seed = readFileSync(seedTopologyFixture, 'utf8');
    assert.ok(seed.includes(table), table);
    assert.equal(result.summaries[0]!.totals.vms, 14);
  });
});

describe("usage models (the resource model's own test cases)", () => {
  const base = `
estimation_buffer: 0
storage_buffer: 0
vm_os_storage_gb: 0
vm_os_storage_group: os
services: { x: { static_number: 1, process: { cores_per_node: 1, ram_per_node: 1 } } }
usage:
  users: { model: date_range_value, ranges: [['20170101', '20170201', 100], ['20170301', '20170401', 200]] }
`;
  const usage = (extra: string) => computeUsage(parseSizingConfig(base + extra, 'u.yml')).fields;

  it('cumulative, limited lifespan, derived factor and sum, baseline with growth', () => {
    const f = usage(`
  total: { model: cumulative, dependant_field: users }
  total_live: { model: cumulative_limited_lifespan, dependant_field: users, lifespan: 2 }
  x2: { model: derived_factor, dependant_field: users, factor: 2 }
  forms: { model: derived_factor, dependant_field: users, factor: 5 }
  sum: { model: derived_sum, dependant_fields: [users, forms] }
  prod: { model: product, dependant_fields: [users, x2] }
  half: { model: invert_derived_factor, dependant_field: users, factor: 2 }
  bg: { model: baseline_with_growth, dependant_field: users, baseline: 10, monthly_growth: 2, start_with: 50 }
`);
    assert.deepEqual(f.get('total'), [100, 200, 400, 600]);
    assert.deepEqual(f.get('total_live'), [100, 200, 300, 400]);
    assert.deepEqual(f.get('x2'), [200, 200, 400, 400]);
    assert.deepEqual(f.get('sum'), [600, 600, 1200, 1200]);
    assert.deepEqual(f.get('prod'), [20000, 20000, 80000, 80000]);
    assert.deepEqual(f.get('half'), [50, 50, 100, 100]);
    // baseline x users + start_with + running total of monthly growth
    assert.deepEqual(f.get('bg_baseline'), [1000, 1000, 2000, 2000]);
    assert.deepEqual(f.get('bg_monthly'), [200, 200, 400, 400]);
    assert.deepEqual(f.get('bg'), [1250, 1450, 2850, 3250]);
  });

  it('limited lifespan drops the start value after the lifespan', () => {
    const f = usage('  live: { model: cumulative_limited_lifespan, dependant_field: users, lifespan: 1, start_with: 7 }\n');
    assert.deepEqual(f.get('live'), [107, 100, 200, 200]);
  });

  it('sets variables fill templates, with arithmetic', () => {
    const config = parseSizingConfig(
      base.replace(
        "users: { model: date_range_value, ranges: [['20170101', '20170201', 100], ['20170301', '20170401', 200]] }",
        "users: { model: date_range_value, ranges: [['20170101', '{users}']] }",
      ) +
        "  forms: { model: derived_factor, dependant_field: users, factor: '{forms_per_user}' }\n" +
        'sets:\n  vars:\n    - { name: small, users: 10, forms_per_user: users*2+1 }\n    - { name: big, users: 1000, forms_per_user: (users - 500) / 10 }\n',
      's.yml',
      { set: 'big' },
    );
    assert.deepEqual(config.vars, { users: 1000, forms_per_user: 50 });
    assert.deepEqual(computeUsage(config).fields.get('forms'), [50_000]);
    expectUserError(
      () => parseSizingConfig(base + 'sets:\n  vars:\n    - { name: a, x: y*2 }\n', 's.yml'),
      /^s\.yml:\d+: sets\.vars\[0\]\.x: cannot evaluate "y\*2": "y" is not defined before it$/,
    );
  });
});

describe('what the resource model accepts and we used to refuse', () => {
  const head = 'estimation_buffer: 0.2\nstorage_buffer: 0\nvm_os_storage_gb: 40\nvm_os_storage_group: os\n';
  const users = "usage:\n  users: { model: date_range_value, ranges: [['20240101', '20240201', 1000]] }\n";

  it('a duplicate key keeps the last value, with a warning naming both lines', () => {
    const text = `${head}${users}services:\n  nginx: { static_number: 2, process: { cores_per_node: 2, ram_per_node: 4 } }\n  nginx: { static_number: 3, process: { cores_per_node: 2, ram_per_node: 4 } }\n`;
    const c = parseSizingConfig(text, 'd.yml');
    assert.equal(c.services.length, 1);
    assert.equal(c.services[0]!.static_number, 3);
    assert.deepEqual(c.warnings, ['d.yml:8: duplicate key "nginx": this value is ignored, the one at line 9 is used (as PyYAML does)']);
  });

  it('a ram_model below its static baseline warns and is computed as the tool does (VMs taken away)', () => {
    const svc = (ram: number) =>
      `services:\n  cache:\n    usage_capacity_per_node: 500\n    process:\n      cores_per_node: 2\n      ram_per_node: ${ram}\n      ram_static_baseline: 6\n      ram_model: [{ referenced_field: users, unit_size: 1MB }]\n`;
    const low = parseSizingConfig(head + users + svc(4), 'r.yml');
    assert.match(low.warnings[0]!, /^r\.yml:12: services\.cache\.process: ram_per_node \(4\) is below ram_static_baseline \(6\)/);
    // 2 VMs by usage; RAM need 1 GB; per node 4 - 6 = -2 GB: extra = ceil((1 - 2 x -2) / -2) = ceil(-2.5) = -2.
    assert.equal(computeVmSummary(low).summaries[0]!.services[0]!.vmsTotal, 0);
    assert.deepEqual(parseSizingConfig(head + users + svc(8), 'r.yml').warnings, []);
    expectUserError(() => parseSizingConfig(head + users + svc(6), 'r.yml'), /ram_model needs ram_per_node other than ram_static_baseline/);
  });

  it('sets run as combinations named like run_model.py; sets_summary_date is read', () => {
    const text =
      `${head}sets_summary_date: '2024-02'\nsets:\n  users:\n    - { name: 1k, users: 1000 }\n    - { name: 2k, users: 2000 }\n  forms:\n    - { name: 5f, fpu: 5 }\n    - { name: 9f, fpu: 9 }\n` +
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', '20240201', '{users}']] }\n  forms: { model: derived_factor, dependant_field: users, factor: '{fpu}' }\nservices:\n  s: { static_number: 1, process: { cores_per_node: 1, ram_per_node: 1 } }\n";
    const first = parseSizingConfig(text, 's.yml');
    assert.deepEqual(first.set_names, ['1k-5f', '1k-9f', '2k-5f', '2k-9f']);
    assert.equal(first.set_name, '1k-5f');
    assert.equal(first.sets_summary_date, '2024-02');
    assert.deepEqual(parseSizingConfig(text, 's.yml', { set: '2k-9f' }).vars, { users: 2000, fpu: 9 });
    assert.deepEqual(parseSizingConfig(text, 's.yml', { set: '9f' }).vars, { users: 1000, fpu: 9 });
    expectUserError(
      () => parseSizingConfig(text, 's.yml', { set: '3k' }),
      /--vars 3k: no set has that name \(sets: 1k-5f, 1k-9f, 2k-5f, 2k-9f\)$/,
    );
  });
});

describe('overrides (how calibration feeds measured per-unit costs in)', () => {
  const config = parseSizingConfig(SMALL, 'small.yml');

  it('replace a unit size, a capacity and a global, on a copy, and say what changed', () => {
    const result = computeVmSummary(config, [
      { path: 'services.pg_main.storage.data_models.forms_total.unit_size', value: '2KB', source: 'run 1: pg bytes/form' },
      { path: 'services.django.process.sub_processes.gunicorn.capacity', value: 100 },
      { path: 'estimation_buffer', value: 0 },
    ]);
    assert.deepEqual(result.applied, [
      { path: 'services.pg_main.storage.data_models.forms_total.unit_size', from: 1000, to: 2000, source: 'run 1: pg bytes/form' },
      { path: 'services.django.process.sub_processes.gunicorn.capacity', from: 250, to: 100 },
      { path: 'estimation_buffer', from: 0.2, to: 0 },
    ]);
    const rows = new Map(result.summaries[0]!.vmRows.map((r) => [r.name, r]));
    // pg_main: (300,000 x 2,000 + 10e9) x 1.25 = 13.25 GB over 2 VMs = 6.625 -> 6.7; no buffer VM now.
    assert.deepEqual([rows.get('pg_main')!.storageGbPerVm, rows.get('pg_main')!.vmCount], [6.7, 2]);
    // django: 2000/100 = 20 processes = 20 cores -> 5 VMs.
    assert.equal(rows.get('django')!.vmCount, 5);
    // the input config is untouched
    assert.equal(config.services.find((s) => s.name === 'pg_main')!.storage.data_models[0]!.unit_size, 1000);
    assert.equal(config.estimation_buffer, 0.2);
  });

  it('a plain map works, and a new per-unit cost can be added', () => {
    const { config: c, applied } = applyOverrides(config, {
      'services.kafka.storage.data_models.forms_total.unit_size': 100,
      'usage.forms_monthly.factor': 60,
    });
    assert.deepEqual(
      c.services.find((s) => s.name === 'kafka')!.storage.data_models.map((m) => m.referenced_field),
      ['forms_monthly', 'forms_total'],
    );
    assert.equal(applied[0]!.from, undefined);
    assert.equal(computeUsage(c).fields.get('forms_monthly')![2], 120_000);
  });

  it('bad overrides are one-line errors', () => {
    expectUserError(
      () => applyOverrides(config, { 'services.nope.min_nodes': 1 }),
      /^override services\.nope\.min_nodes: no service "nope"/,
    );
    expectUserError(
      () => applyOverrides(config, { 'services.pg_main.min_nodes': 'x' }),
      /^override services\.pg_main\.min_nodes: value "x" is not a number$/,
    );
    expectUserError(() => applyOverrides(config, { 'usage.users.factor': 2 }), /has no "factor"/);
    expectUserError(() => applyOverrides(config, { 'whatever.path': 2 }), /not a path this model knows/);
  });

  it('turns a measured CPU cost into a capacity', () => {
    // 0.35 CPU s per request, 1 core per worker at 70 %, requests counted per second -> 2 requests/s.
    assert.equal(capacityFromCpuCost({ cpuSecondsPerUnit: 0.35, cores: 1, periodSeconds: PERIOD_SECONDS.second }), 2);
  });
});

describe('units and rounding', () => {
  it('parses sizes with decimal units', () => {
    assert.equal(parseSize(1200), 1200);
    assert.equal(parseSize('50GB'), 50e9);
    assert.equal(parseSize('2K'), 2000);
    assert.equal(parseSize('1.5 TB'), 1.5e12);
    assert.equal(parseSize('lots'), undefined);
  });

  it('rounds up at about 1 %, as the seed shows', () => {
    assert.equal(tenthRound(0.07581), 0.076);
    assert.equal(tenthRound(1335.3), 1340);
    assert.equal(tenthRound(91.78), 92);
    assert.equal(tenthRound(399.85), 400);
    assert.equal(tenthRound(0), 0);
  });

  it('grows the estimation buffer by the growth factor each month', () => {
    const c = parseSizingConfig(SMALL.replace('storage_buffer: 0.25', 'storage_buffer: 0.25\nestimation_growth_factor: 0.1'), 'g.yml');
    assert.equal(estimationBuffer(c, 0), 0.2);
    assert.ok(Math.abs(estimationBuffer(c, 2) - 0.242) < 1e-12);
  });

  it('evaluates only arithmetic', () => {
    assert.equal(evaluate('a*12 + (b - 1)/2', { a: 2, b: 5 }), 26);
    assert.throws(() => evaluate('process.exit()', {}), /cannot evaluate/);
  });
});

describe('bad sizing configs give one-line errors with file and line', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    [
      'unknown usage model',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n  f: { model: exponential, dependant_field: users }\n",
      '',
      /^c\.yml:\d+: usage\.f\.model: unknown model "exponential" \(known: date_range_value, /,
    ],
    [
      'non-numeric factor',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n  f: { model: derived_factor, dependant_field: users, factor: lots }\n",
      '',
      /^c\.yml:14: usage\.f\.factor: "factor" must be a number, found "lots"$/,
    ],
    [
      'unknown dependency',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n  f: { model: cumulative, dependant_field: forms }\n",
      '',
      /^c\.yml:14: usage\.f: depends on "forms", which is not a usage field$/,
    ],
    [
      'bad date',
      "usage:\n  users: { model: date_range_value, ranges: [['2024-13-01', 1]] }\n",
      '',
      /^c\.yml:13: usage\.users\.ranges\[0\]\[0\]: expected a date such as '20170601' or '2017-06', found "2024-13-01"$/,
    ],
    [
      'unknown referenced field',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n",
      '  y:\n    storage:\n      data_models:\n        - { referenced_field: forms, unit_size: 10 }\n',
      /^c\.yml:\d+: services\.y\.storage\.data_models\[0\]\.referenced_field: "forms" is not a usage field$/,
    ],
    [
      'bad size',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n",
      '  y:\n    storage: { static_baseline: 10 gigs }\n',
      /^c\.yml:\d+: services\.y\.storage\.static_baseline: "static_baseline" must be a size/,
    ],
    [
      'compute without cores',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n",
      '  y: { usage_capacity_per_node: 10 }\n',
      /^c\.yml:\d+: services\.y: needs process\.cores_per_node and process\.ram_per_node/,
    ],
    [
      'cycle',
      "usage:\n  users: { model: date_range_value, ranges: [['20240101', 1]] }\n  a: { model: derived_factor, dependant_field: b, factor: 1 }\n  b: { model: derived_factor, dependant_field: a, factor: 1 }\n",
      '',
      /cannot be computed: its fields depend on each other \(a, b\)$/,
    ],
  ];
  const head = 'estimation_buffer: 0.2\nstorage_buffer: 0.25\nvm_os_storage_gb: 40\nvm_os_storage_group: os\n';
  for (const [name, usage, services, re] of cases) {
    it(name, () => {
      const text = `${head}services:\n  x: { static_number: 1, process: { cores_per_node: 1, ram_per_node: 1 } }\n${services}\n\n\n\n\n${usage}`;
      expectUserError(() => {
        const c = parseSizingConfig(text, 'c.yml');
        computeVmSummary(c);
      }, re);
    });
  }

  it('missing globals, missing file, not a mapping', () => {
    expectUserError(
      () => parseSizingConfig('storage_buffer: 0.2\nvm_os_storage_gb: 1\nvm_os_storage_group: a\nusage: {}\nservices: {}\n', 'g.yml'),
      /^g\.yml(:1)?: missing "estimation_buffer"$/,
    );
    expectUserError(() => readSizingConfig(path.join(here, 'nope.yml')), /nope\.yml: no such file$/);
    expectUserError(() => parseSizingConfig('- a\n', 'l.yml'), /^l\.yml:1: expected a sizing config/);
  });

  it('the seed fixture exists for the byte-for-byte test', () => {
    assert.ok(existsSync(seedTopologyFixture));
  });
});
