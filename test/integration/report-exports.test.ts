// A short export-storm on the local stack, then `capacity report` at 20,000 users: the celery, rabbitmq and redis
// rows get measured verdicts whose CPU figures are this run's export costs times the target's export load.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { exportCosts } from '../../reports/export-costs.ts';
import { targetLoad } from '../../reports/project.ts';
import { buildReport, type ReportResult } from '../../reports/report.ts';
import { loadResults } from '../../results-dir/index.ts';
import { runScenario } from '../../runner/run.ts';
import { repoRoot } from '../../core/paths.ts';
import { ensureStackUp } from './stack-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-report-exports-'));
const seedTopology = path.join(repoRoot, 'topology', 'examples', 'seed-multi-vm.yaml');

describe('report: export rows from a real export-storm', { timeout: 300_000 }, () => {
  let dir: string;
  let report: ReportResult;

  before(async () => {
    await ensureStackUp();
    const out = await runScenario({
      scenario: 'export-storm',
      target: 'local',
      domain: 'it-report-exports',
      app: 'household',
      users: 10,
      shape: { rate: 4, durationS: 20, vus: 6, exportUsers: 3, exportIntervalS: 5, apiClients: 1, apiRate: 1 },
      resultsRoot: path.join(tmp, 'results'),
      collectIntervalMs: 1000,
      livenessEvery: 5,
      log: () => undefined,
      echo: () => undefined,
    });
    assert.equal(out.summary.outcome, 'passed', out.summary.message);
    dir = out.dir;
    report = await buildReport({
      resultsDir: dir,
      topologyFile: seedTopology,
      target: { users: 20_000 },
      outDir: path.join(tmp, 'report'),
      formats: ['json', 'md'],
    });
  });

  it("celery, rabbitmq and redis: measured CPU verdicts from this run's export costs", async () => {
    // the run's own samples, read again apart from the report
    const own = new Map(exportCosts(await loadResults(dir)).map((c) => [c.key, c.value]));
    const p = report.model.projection!;
    assert.equal(p.target.users, 20_000);
    assert.deepEqual([p.target.webUsers, p.target.exportsPerWebUserPerDay], [1000, 2]);
    assert.match(p.targetSources.webUsers!, /tool's assumption/);
    const load = targetLoad(p.target);
    const expected: Record<string, number> = {
      celery: own.get('celery_cpu_per_exported_row')! * load.peakExportedRowsPerS,
      rabbitmq: own.get('rabbitmq_cpu_per_export')! * load.peakExportsPerS,
    };
    for (const [k, v] of Object.entries(expected)) assert.ok(Number.isFinite(v) && v > 0, `${k}: measured cost ${v}`);
    const v = new Map(report.model.verdicts.map((x) => [x.row.name, x]));
    for (const name of ['celery', 'rabbitmq', 'redis']) {
      const row = v.get(name)!;
      assert.notEqual(row.verdict, 'not measured', `${name}: ${row.notes.join('; ')}`);
      const cpu = row.checks.find((c) => c.resource === 'cpu' && c.basis === 'measured');
      assert.ok(cpu, `${name}: a measured CPU check`);
      if (expected[name] !== undefined)
        assert.ok(Math.abs(cpu.need - expected[name]) <= 1e-9 * Math.max(1, expected[name]), `${name}: ${cpu.need} vs ${expected[name]}`);
    }
    assert.match(fs.readFileSync(report.files.md!, 'utf8'), /Export load: 1,000 web users x 2 exports a day/);
  });
});
