import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SampleStore, type StepResult } from '../results-dir/index.ts';
import type { Topology, VmRow } from '../topology/model.ts';
import { rehearsalVerdicts } from './rehearsal.ts';

const row = (name: string, vmCount = 1): VmRow => ({ name, coresPerVm: 2, ramGbPerVm: 4, storageGbPerVm: 50, vmCount });
const rows = [row('django', 2), row('pg_main'), row('redis'), row('couchdb')];
const topology: Topology = {
  source: { path: 't.yaml', format: 'yaml' },
  rows,
  hosts: [
    { name: 'web1', address: '127.0.1.2', row: 'django', groups: [], services: [], container: 'r-web1' },
    { name: 'web2', address: '127.0.1.3', row: 'django', groups: [], services: [], container: 'r-web2' },
    { name: 'pg1', address: '127.0.1.4', row: 'pg_main', groups: [], services: [], container: 'r-pg1' },
    { name: 'redis1', address: '127.0.1.5', row: 'redis', groups: [], services: [], container: 'r-redis1' },
  ],
  warnings: [],
};
const T0 = Date.UTC(2026, 11, 5, 3, 0, 0);
const steps: StepResult[] = [10, 20, 30].map((rate, i) => ({
  rate,
  startSecond: T0 / 1000 + i * 15,
  requests: rate * 15,
  achievedPerSec: rate - 0.5,
  failedRate: 0,
  p95: 100,
  dropped: 0,
  sustained: rate < 30,
}));

/** Readings every second for 45 s: CPU % of limit per host as a function of the step (0, 1, 2). */
function store(cpu: Record<string, (step: number) => number>, mem: Record<string, (step: number) => number> = {}): SampleStore {
  const s = new SampleStore();
  for (let sec = 0; sec < 45; sec++) {
    const ts = new Date(T0 + sec * 1000).toISOString();
    const step = Math.floor(sec / 15);
    for (const [host, f] of Object.entries(cpu)) {
      const labels = { via: 'docker', container: `r-${host}` };
      s.add({ ts, source: 'host', host, metric: 'cpu_limit_cores', value: 0.5, labels });
      s.add({ ts, source: 'host', host, metric: 'mem_limit_bytes', value: 256e6, labels });
      s.add({ ts, source: 'host', host, metric: 'cpu_limit_pct', value: f(step), labels });
      s.add({ ts, source: 'host', host, metric: 'mem_limit_pct', value: mem[host]?.(step) ?? 20, labels });
    }
  }
  return s;
}

describe('rehearsal verdicts', () => {
  it('names the first VM to saturate, by step, and judges every row by its own containers', () => {
    const s = store({
      web1: (k) => [40, 70, 99][k]!,
      web2: (k) => [35, 65, 97][k]!,
      pg1: (k) => [50, 92, 100][k]!, // saturates at the 20/s step, before the web VMs
      redis1: () => 1,
    });
    const r = rehearsalVerdicts(s, rows, topology, { steps, stepS: 15 })!;
    assert.deepEqual(
      { host: r.firstToSaturate?.host, row: r.firstToSaturate?.row, rate: r.firstToSaturate?.rate, resource: r.firstToSaturate?.resource },
      { host: 'pg1', row: 'pg_main', rate: 20, resource: 'cpu' },
    );
    assert.match(r.summary, /first VM to saturate: pg1 \(row pg_main\) at the 20\/s step/);
    const byRow = Object.fromEntries(r.rows.map((x) => [x.row, x]));
    assert.equal(byRow.pg_main!.state, 'saturated first');
    assert.equal(byRow.django!.state, 'saturated');
    assert.equal(byRow.django!.saturatedAt?.rate, 30);
    assert.deepEqual(byRow.django!.hosts, ['web1', 'web2']);
    assert.equal(byRow.redis!.state, 'idle');
    assert.equal(byRow.couchdb!.state, 'not started');
    assert.equal(byRow.couchdb!.cpuPctMean, undefined);
    // the rate reached is the highest sustained step (20/s): the "at rate" figures are that step's
    assert.equal(r.rateReached?.rate, 20);
    assert.equal(byRow.pg_main!.cpuPctAtRate, 92);
    assert.equal(byRow.django!.cpuPctAtRate, 70, 'a row takes its busiest host');
    assert.equal(byRow.django!.cpuPctMax, 99);
    assert.equal(r.hosts.find((h) => h.host === 'web2')!.cpuLimitCores, 0.5);
  });

  it('memory full in a step saturates a VM too', () => {
    const s = store({ web1: () => 30, pg1: () => 40 }, { web1: (k) => [50, 96, 99][k]! });
    const r = rehearsalVerdicts(s, rows, topology, { steps, stepS: 15 })!;
    assert.equal(r.firstToSaturate?.host, 'web1');
    assert.equal(r.firstToSaturate?.resource, 'memory');
    assert.equal(r.firstToSaturate?.rate, 20);
  });

  it('nothing saturated says so; no docker samples is no rehearsal', () => {
    const r = rehearsalVerdicts(store({ web1: () => 30, pg1: () => 40 }), rows, topology, { steps })!;
    assert.equal(r.firstToSaturate, undefined);
    assert.match(r.summary, /no VM saturated .* up to the 30\/s step/);
    const plain = new SampleStore();
    plain.add({
      ts: new Date(T0).toISOString(),
      source: 'host',
      host: 'vm1',
      metric: 'cpu_busy_pct',
      value: 50,
      labels: { via: 'node_exporter' },
    });
    assert.equal(rehearsalVerdicts(plain, rows, topology), undefined);
  });
});
