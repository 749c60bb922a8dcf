// The rehearsal section through the whole report: a results directory of a ramp whose hosts were containers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { buildReport } from './report.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-rehearsal-report-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 11, 5, 3, 0, 0) / 1000;

function writeRun(): { results: string; topology: string } {
  const results = path.join(dir, 'run');
  fs.mkdirSync(results);
  const iso = (s: number) => new Date((T0 + s) * 1000).toISOString();
  fs.writeFileSync(
    path.join(results, 'manifest.json'),
    JSON.stringify({
      scenario: 'ramp-to-break',
      status: 'finished',
      startedAt: iso(0),
      endedAt: iso(45),
      parameters: { users: 20, shape: { stepRate: 10, stepS: 15, maxRate: 30 } },
      target: { kind: 'url', baseUrl: 'http://127.0.1.26:48080' },
    }),
  );
  fs.writeFileSync(
    path.join(results, 'summary.json'),
    JSON.stringify({
      scenario: 'ramp-to-break',
      startedAt: iso(0),
      endedAt: iso(45),
      rampToBreak: {
        highestSustainedRate: 20,
        steps: [10, 20, 30].map((rate, i) => ({
          rate,
          startSecond: T0 + i * 15,
          requests: rate * 15,
          achievedPerSec: rate,
          failedRate: 0,
          p95: 80,
          dropped: 0,
          sustained: rate < 30,
        })),
      },
    }),
  );
  const lines: string[] = [];
  for (let s = 0; s < 45; s++) {
    const k = Math.floor(s / 15);
    for (const [host, cpu] of [
      ['pg1', [30, 60, 93][k]!],
      ['web1', [20, 40, 60][k]!],
    ] as const) {
      const labels = { via: 'docker', container: `rehearsal-${host}` };
      for (const [metric, value] of [
        ['cpu_limit_cores', 0.1],
        ['mem_limit_bytes', 384 * 2 ** 20],
        ['cpu_limit_pct', cpu],
        ['cpu_busy_pct', cpu],
        ['mem_limit_pct', 40],
        ['mem_used_pct', 40],
      ] as const)
        lines.push(JSON.stringify({ ts: iso(s), source: 'host', host, metric, value, labels }));
    }
  }
  fs.writeFileSync(path.join(results, 'samples.ndjson'), `${lines.join('\n')}\n`);
  const topology = path.join(dir, 'rehearsal-topology.yaml');
  fs.writeFileSync(
    topology,
    [
      'rows:',
      '  - { name: pg_main, cores: 2, ram_gb: 8, storage_gb: 126, vms: 1 }',
      '  - { name: django, cores: 4, ram_gb: 8, storage_gb: 50, vms: 1 }',
      '  - { name: couchdb, cores: 2, ram_gb: 4, storage_gb: 92, vms: 1 }',
      'hosts:',
      '  - { name: pg1, address: 127.0.1.27, row: pg_main, container: rehearsal-pg1, services: [postgresql] }',
      '  - { name: web1, address: 127.0.1.21, row: django, container: rehearsal-web1, services: [django] }',
    ].join('\n'),
  );
  return { results, topology };
}

describe('report on a rehearsal', () => {
  it('has the per-VM table with measured utilisation and names the first VM to saturate', async () => {
    const { results, topology } = writeRun();
    const r = await buildReport({ resultsDir: results, topologyFile: topology, formats: ['md', 'json'], outDir: path.join(dir, 'out') });
    const rh = r.model.rehearsal!;
    assert.equal(rh.firstToSaturate?.host, 'pg1');
    assert.equal(rh.firstToSaturate?.rate, 30);
    assert.equal(rh.rateReached?.rate, 20);
    const md = fs.readFileSync(r.files.md!, 'utf8');
    assert.match(md, /## Rehearsal: load measured on each VM \(its container\) against its limit/);
    assert.match(md, /Verdict: first VM to saturate: pg1 \(row pg_main\) at the 30\/s step/);
    assert.match(md, /\| pg_main \| pg1 \| saturated first \| 61 \/ 93 % \| 60 % \|/);
    assert.match(md, /\| django \| web1 \| carries load \| 40 \/ 60 % \| 40 % \|/);
    assert.match(md, /\| couchdb \| - \| not started \|/);
    const json = JSON.parse(fs.readFileSync(r.files.json!, 'utf8'));
    assert.equal(json.rehearsal.rows.length, 3);
  });
});
