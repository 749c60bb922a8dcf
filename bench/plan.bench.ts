// Benchmark: reading topologies and running the sizing model at sizes larger than any real install.
// Run: node --import tsx bench/plan.bench.ts   (prints one line per case: time per run and peak heap)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInventory } from '../topology/inventory.ts';
import { readVmTable } from '../topology/vm-table.ts';
import { computeVmSummary, parseSizingConfig } from '../reports/sizing/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function bench(name: string, runs: number, fn: () => unknown): void {
  fn(); // warm up
  let peak = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) {
    fn();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  console.log(`${name.padEnd(48)} ${ms.toFixed(3).padStart(9)} ms/run   peak heap ${(peak / 2 ** 20).toFixed(1)} MiB`);
}

const seed = readFileSync(path.join(root, 'topology', 'fixtures', 'seed-000-multi-vm.txt'), 'utf8');
bench('seed VM summary (grid)', 200, () => readVmTable(seed, 'grid', 'seed'));

// An inventory with 2,000 hosts in 20 service groups, each host in its own group (commcare-cloud style).
const groups = [
  'webworkers',
  'postgresql',
  'couchdb2',
  'elasticsearch',
  'kafka',
  'rabbitmq',
  'redis',
  'proxy',
  'formplayer',
  'celery',
  'pillowtop',
  'riakcs',
  'control',
  'zookeeper',
  'pg_standby',
  'pgbouncer',
  'shared_dir_host',
  'django_manage',
  'es_master',
  'es_data',
];
const inv: string[] = [];
for (let h = 0; h < 2000; h++) inv.push(`[h${h}]`, `10.${(h >> 8) & 255}.${h & 255}.1 hostname=h${h} swap_size=1G`, '');
groups.forEach((g, k) => {
  inv.push(`[${g}:children]`);
  for (let h = k; h < 2000; h += groups.length) inv.push(`h${h}`);
  inv.push('');
});
const invText = inv.join('\n');
bench('inventory, 2,000 hosts', 5, () => readInventory(invText, 'inventory.ini'));

// A sizing config with 120 months, 60 usage fields and 100 services.
const cfg: string[] = [
  'estimation_buffer: 0.25',
  'estimation_growth_factor: 0.01',
  'storage_buffer: 0.33',
  'storage_display_unit: TB',
  'vm_os_storage_gb: 50',
  'vm_os_storage_group: os',
  "summary_dates: ['2020-12', '2025-12', '2029-12']",
  'usage:',
];
cfg.push("  users: { model: date_range_value, ranges: [['20200101', '20291201', 50000]] }");
for (let u = 0; u < 59; u++) {
  const model = u % 3 === 0 ? 'cumulative' : u % 3 === 1 ? 'cumulative_limited_lifespan, lifespan: 3' : 'derived_factor, factor: 1.5';
  cfg.push(`  f${u}: { model: ${model}, dependant_field: ${u === 0 ? 'users' : `f${u - 1}`} }`);
}
cfg.push('services:');
for (let s = 0; s < 100; s++) {
  cfg.push(
    `  s${s}:`,
    `    usage_capacity_per_node: ${1000 + s * 100}`,
    '    min_nodes: 2',
    `    storage: { group: g${s % 4}, data_models: [{ referenced_field: f${s % 59}, unit_size: 500 }] }`,
    '    process: { cores_per_node: 8, ram_per_node: 32 }',
  );
}
const cfgText = cfg.join('\n');
bench('sizing: 120 months, 60 fields, 100 services', 20, () => computeVmSummary(parseSizingConfig(cfgText, 'big.yml')));
bench('sizing: the seed example config', 200, () =>
  computeVmSummary(
    parseSizingConfig(readFileSync(path.join(root, 'reports', 'sizing', 'examples', 'seed-multi-vm.yml'), 'utf8'), 'seed.yml'),
  ),
);
