// How much the gate's figures move between identical runs on this machine, and whether the default tolerances
// would have called any of that noise a regression (a false alarm). Runs the same steady scenario N times
// against the local stack, gates every run against the first, and prints per metric the spread and the
// largest move in the worse direction next to the tolerance.
//
//   node --import tsx bench/gate-noise.ts [--runs 4] [--rate 5] [--seconds 30] [--users 20]
//
// Not part of the test suite: it takes N x (seconds + ~15) seconds and loads the shared stack.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { baselineFromRun } from '../gates/baseline.ts';
import { compareRun } from '../gates/compare.ts';
import { formatValue, measureRun, type MeasuredRun } from '../gates/metrics.ts';
import { runScenario } from '../runner/run.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '4' },
    rate: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '30' },
    users: { type: 'string', default: '20' },
  },
});
const runs = Number(values.runs);
const resultsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-gate-noise-'));
const measured: MeasuredRun[] = [];
for (let i = 0; i < runs; i++) {
  const out = await runScenario({
    scenario: 'steady',
    target: 'local',
    domain: 'bench-gate',
    app: 'household',
    users: Number(values.users),
    shape: { rate: Number(values.rate), durationS: Number(values.seconds) },
    resultsRoot,
    collectIntervalMs: 1000,
    livenessEvery: 5,
    log: () => undefined,
    echo: () => undefined,
  });
  measured.push(measureRun(out.dir));
  process.stderr.write(
    `[bench] run ${i + 1}/${runs}: ${out.summary.outcome}, ${out.summary.requests} requests, load ${os.loadavg()[0]!.toFixed(2)}\n`,
  );
}
const base = baselineFromRun(measured[0]!);
const results = measured.slice(1).map((m) => compareRun(base, 'run 1', m));
console.log(
  `gate noise: ${runs} identical steady runs (${values.rate}/s for ${values.seconds} s, ${values.users} workers) on ${os.cpus().length} CPUs; each gated against run 1`,
);
console.log(
  `${'metric'.padEnd(36)} ${'min'.padStart(11)} ${'max'.padStart(11)} ${'worst move'.padStart(11)} ${'tolerance'.padStart(18)} false alarms`,
);
for (const id of Object.keys(base.metrics)) {
  const vals = measured.map((m) => m.metrics[id]?.value).filter((v): v is number => v !== undefined);
  const checks = results.map((r) => r.checks.find((c) => c.id === id)!).filter(Boolean);
  const unit = base.metrics[id]!.unit;
  const worst = Math.max(
    0,
    ...checks.map((c) => (c.measured === undefined ? 0 : (c.better === 'lower' ? 1 : -1) * (c.measured - c.baseline!))),
  );
  const t = checks[0]?.tolerance;
  const alarms = checks.filter((c) => c.status === 'regressed' || c.status === 'missing').length;
  console.log(
    `${id.padEnd(36)} ${formatValue(Math.min(...vals), unit).padStart(11)} ${formatValue(Math.max(...vals), unit).padStart(11)} ${formatValue(worst, unit).padStart(11)} ${(t ? `${t.pct} % / ${formatValue(t.abs, unit)}` : '-').padStart(18)} ${alarms}/${checks.length}`,
  );
}
console.log(`gates passed: ${results.filter((r) => r.passed).length}/${results.length}; results in ${resultsRoot}`);
