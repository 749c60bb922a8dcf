import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { loadBaseline } from './baseline.ts';
import { checkMetric } from './compare.ts';
import { runGate, saveBaseline } from './gate.ts';
import { measureRun, pillowLag, type Environment } from './metrics.ts';
import { parseTolerances, toleranceFor } from './tolerance.ts';

const env: Environment = { cpus: 4, cpuModel: 'test cpu', memGiB: 8, platform: 'linux-x64' };

interface Fake {
  p50?: number;
  p95?: number;
  p99?: number;
  ackPerSec?: number;
  failed?: number;
  lags?: (number | undefined)[];
  offsetLag?: number[];
  timeLag?: number[];
  rate?: number;
  outcome?: string;
}

/** A results directory with the files the gate reads, figures chosen by the test. */
function fakeRun(f: Fake = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-gate-'));
  const manifest = {
    scenario: 'steady',
    status: 'finished',
    startedAt: '2026-01-01T00:00:00.000Z',
    target: { kind: 'local' },
    parameters: {
      shape: { rate: f.rate ?? 5, durationS: 60 },
      users: 20,
      app: 'household',
      seed: Math.floor(Math.random() * 1e6),
      domain: 'd',
      plannedSeconds: 60,
      plannedSubmissions: 305,
      livenessEvery: 10,
      collectIntervalMs: 1000,
    },
    versions: { k6: 'v1.8.1' },
  };
  const requests = 300;
  const summary = {
    scenario: 'steady',
    outcome: f.outcome ?? 'passed',
    message: 'm',
    startedAt: manifest.startedAt,
    durationS: 60,
    requests,
    failedRequests: f.failed ?? 0,
    failedRate: (f.failed ?? 0) / requests,
    acknowledged: 300 - (f.failed ?? 0),
    acknowledgedPerSec: f.ackPerSec ?? 5,
    endpoints: { receiver: { count: requests, failed: f.failed ?? 0, p50: f.p50 ?? 20, p95: f.p95 ?? 60, p99: f.p99 ?? 120, max: 200 } },
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
  const lags = f.lags ?? [1000, 1200, 1500, 2000, 2500];
  fs.writeFileSync(
    path.join(dir, 'liveness.ndjson'),
    lags
      .map((l, i) => JSON.stringify({ formId: `f${i}`, ackedAt: i, ...(l === undefined ? {} : { searchableAt: i + l, lagMs: l }) }))
      .join('\n') + '\n',
  );
  const samples: string[] = [];
  (f.offsetLag ?? [3, 10, 4]).forEach((v, i) => {
    samples.push(
      JSON.stringify({
        ts: `t${i}`,
        source: 'pillows',
        host: 'h',
        metric: 'offset_lag_total',
        value: v,
        labels: { pillow: 'xform-pillow' },
      }),
    );
    samples.push(
      JSON.stringify({
        ts: `t${i}`,
        source: 'pillows',
        host: 'h',
        metric: 'time_lag_max_s',
        value: (f.timeLag ?? [0.2, 0.5, 0.3])[i] ?? 0,
        labels: { pillow: 'xform-pillow' },
      }),
    );
  });
  samples.push(
    JSON.stringify({ ts: 'tg', source: 'pillows', host: 'h', metric: 'gap', value: 1, gap: true, labels: { collector: 'pillows@h' } }),
  );
  fs.writeFileSync(path.join(dir, 'samples.ndjson'), samples.join('\n') + '\n');
  return dir;
}

function baselineOf(dir: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-baseline-')), 'b.json');
  saveBaseline({ resultsDir: dir, out: file });
  // the machine is the test's, so no machine warning
  const b = JSON.parse(fs.readFileSync(file, 'utf8'));
  b.environment = env;
  fs.writeFileSync(file, JSON.stringify(b));
  return file;
}

describe('gate figures', () => {
  it('reads throughput, latency per endpoint, error rate, pillow lag and liveness', () => {
    const m = measureRun(fakeRun({ lags: [1000, 2000, undefined, 3000] }));
    assert.equal(m.metrics['throughput.acknowledged_per_s']!.value, 5);
    assert.equal(m.metrics['latency.receiver.p95']!.value, 60);
    assert.equal(m.metrics['latency.receiver.p95']!.better, 'lower');
    assert.equal(m.metrics['throughput.acknowledged_per_s']!.better, 'higher');
    assert.equal(m.metrics.error_rate!.value, 0);
    assert.equal(m.metrics['pillow.xform-pillow.offset_lag_max']!.value, 10);
    assert.equal(m.metrics['pillow.xform-pillow.time_lag_max_s']!.value, 0.5);
    assert.equal(m.metrics['liveness.p50_ms']!.value, 2000);
    assert.equal(m.metrics['liveness.never_searchable_rate']!.value, 0.25);
    assert.equal(m.run.parameters.seed, undefined, 'the seed does not make runs different');
  });

  it('a gap is unknown, never a zero lag', () => {
    const lag = pillowLag([{ source: 'pillows', metric: 'offset_lag_total', value: 0, labels: { pillow: 'p' }, gap: true }]);
    assert.deepEqual(lag, {});
  });

  it('bad input is a UserError with exit code 2', () => {
    assert.throws(
      () => measureRun('/nonexistent/results'),
      (e: unknown) => e instanceof UserError && e.exitCode === 2,
    );
    const dir = fakeRun();
    fs.rmSync(path.join(dir, 'summary.json'));
    assert.throws(() => measureRun(dir), /not a finished run/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"kind":"other"}');
    assert.throws(() => loadBaseline(bad), /not a capacity baseline/);
    assert.throws(() => parseTolerances('latency=abc'), /bad tolerance/);
  });
});

describe('tolerances', () => {
  it("defaults per metric kind; --tolerance over the baseline's over the defaults; exact over glob over prefix", () => {
    assert.deepEqual(toleranceFor('latency.receiver.p95', {}), { pct: 50, abs: 40, source: 'default' });
    const cli = parseTolerances(['latency=70', 'latency.*.p95=50%:10', 'latency.receiver.p95=45']);
    assert.equal(toleranceFor('latency.receiver.p95', { cli }).pct, 45);
    assert.equal(toleranceFor('latency.receiver.p95', { cli }).abs, 40, 'a rule without an absolute part keeps the floor');
    assert.equal(toleranceFor('latency.restore.p95', { cli }).pct, 50);
    assert.equal(toleranceFor('latency.restore.p95', { cli }).abs, 10);
    assert.equal(toleranceFor('latency.restore.p50', { cli }).pct, 70);
    const baseline = parseTolerances('error_rate=300:0.02');
    assert.deepEqual(toleranceFor('error_rate', { baseline }), { pct: 300, abs: 0.02, source: 'baseline error_rate' });
  });

  it('direction-aware: higher latency regresses, higher throughput does not', () => {
    const tol = { pct: 10, abs: 0, source: 't' };
    assert.equal(
      checkMetric('latency.x.p95', { value: 100, unit: 'ms', better: 'lower' }, { value: 120, unit: 'ms', better: 'lower' }, tol).status,
      'regressed',
    );
    assert.equal(
      checkMetric('latency.x.p95', { value: 100, unit: 'ms', better: 'lower' }, { value: 80, unit: 'ms', better: 'lower' }, tol).status,
      'improved',
    );
    assert.equal(
      checkMetric('throughput.a', { value: 5, unit: 'per_s', better: 'higher' }, { value: 6, unit: 'per_s', better: 'higher' }, tol).status,
      'improved',
    );
    assert.equal(
      checkMetric('throughput.a', { value: 5, unit: 'per_s', better: 'higher' }, { value: 4, unit: 'per_s', better: 'higher' }, tol).status,
      'regressed',
    );
    assert.equal(
      checkMetric('latency.x.p95', { value: 100, unit: 'ms', better: 'lower' }, { value: 109, unit: 'ms', better: 'lower' }, tol).status,
      'pass',
    );
    // the absolute floor keeps tiny figures from flapping; a zero baseline has no percentage
    const floor = { pct: 100, abs: 0.005, source: 't' };
    assert.equal(
      checkMetric('error_rate', { value: 0, unit: 'ratio', better: 'lower' }, { value: 0.004, unit: 'ratio', better: 'lower' }, floor)
        .status,
      'pass',
    );
    const c = checkMetric(
      'error_rate',
      { value: 0, unit: 'ratio', better: 'lower' },
      { value: 0.02, unit: 'ratio', better: 'lower' },
      floor,
    );
    assert.equal(c.status, 'regressed');
    assert.match(c.message, /\+2 % from 0/);
  });
});

describe('capacity gate', () => {
  it('passes against its own run, fails on a slower one with JUnit naming the metric', () => {
    const base = fakeRun();
    const file = baselineOf(base);
    const same = runGate({ resultsDir: base, baselineFile: file, environment: env });
    assert.equal(same.exitCode, 0, same.text);
    assert.equal(same.result.warnings.length, 0, same.result.warnings.join('; '));
    assert.match(same.text, /^PASSED: \d+ metrics, 0 regressed/m);

    const junitFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-junit-')), 'out', 'gate.xml');
    const slow = runGate({
      resultsDir: fakeRun({ p50: 320, p95: 370, p99: 420, lags: [4000, 5000, 6000, 7000, 8000] }),
      baselineFile: file,
      junitFile,
      environment: env,
    });
    assert.equal(slow.exitCode, 1);
    assert.match(slow.text, /REGRESSED latency\.receiver\.p95 regressed: baseline 60 ms, measured 370 ms, change \+516\.7 %/);
    assert.match(slow.text, /REGRESSED liveness\.p50_ms/);
    assert.doesNotMatch(slow.text, /REGRESSED throughput/);
    const xml = fs.readFileSync(junitFile, 'utf8');
    assert.match(
      xml,
      /<testcase classname="capacity\.gate\.latency" name="latency\.receiver\.p95" time="0">\n\s+<failure message="latency\.receiver\.p95: baseline 60 ms, measured 370 ms, change \+516\.7 %" type="regression">/,
    );
    assert.match(xml, /<testsuite name="capacity gate: steady" tests="\d+" failures="5"/);
    assert.match(xml, /name="throughput\.acknowledged_per_s" time="0">\n\s+<system-out>/);
  });

  it('a tolerance of the wrong type stops the gate (exit 2, naming the file), never passes a regression (issue 14)', () => {
    const file = baselineOf(fakeRun({ ackPerSec: 100 }));
    const good = JSON.parse(fs.readFileSync(file, 'utf8'));
    const regressed = fakeRun({ ackPerSec: 30 });
    const typos: [unknown, RegExp][] = [
      [[{ pattern: 'throughput', tolerance: 'huge' }], /tolerances\[0\]\.tolerance must be an object/],
      [[{ pattern: 'throughput', tolerance: { pct: 'x' } }], /tolerances\[0\]\.tolerance\.pct must be a number/],
      [[{ pattern: 'throughput', tolerance: { pct: 10, abs: 'x' } }], /tolerances\[0\]\.tolerance\.abs must be a number/],
      [[{ pattern: 'throughput', tolerance: { pct: 10, ab: 5 } }], /unknown field "ab"/],
      [[{ pattern: 'throughput', tolerance: { pct: -5 } }], /pct must be a number of percent, at least 0/],
      [{ throughput: 10 }, /tolerances must be a list/],
      ['throughput=10', /tolerances must be a list/],
      [[{ pattern: 7, tolerance: { pct: 10 } }], /tolerances\[0\]\.pattern must be/],
      [[null], /tolerances\[0\] must be an object/],
    ];
    for (const [tolerances, message] of typos) {
      fs.writeFileSync(file, JSON.stringify({ ...good, tolerances }));
      assert.throws(
        () => runGate({ resultsDir: regressed, baselineFile: file, environment: env }),
        (e: unknown) => {
          assert.ok(e instanceof UserError, `${JSON.stringify(tolerances)}: ${String(e)}`);
          assert.equal(e.exitCode, 2);
          assert.ok(e.message.startsWith(`baseline ${file}: `), e.message);
          assert.match(e.message, message);
          assert.ok(!e.message.includes('\n'));
          return true;
        },
      );
    }
    // a well-formed tolerance still applies, and abs null (a rule without ABS, as saved) inherits the floor
    fs.writeFileSync(file, JSON.stringify({ ...good, tolerances: [{ pattern: 'throughput', tolerance: { pct: 10, abs: null } }] }));
    assert.equal(runGate({ resultsDir: regressed, baselineFile: file, environment: env }).exitCode, 1);
  });

  it('any other malformed field of a baseline: exit 2 naming the file', () => {
    const file = baselineOf(fakeRun());
    const good = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const b of [
      null,
      [],
      7,
      { ...good, run: 'x' },
      { ...good, source: null },
      { ...good, environment: { cpus: 'many' } },
      { ...good, metrics: { a: null } },
      { ...good, run: { ...good.run, scenario: 3 } },
    ]) {
      fs.writeFileSync(file, JSON.stringify(b));
      assert.throws(
        () => runGate({ resultsDir: fakeRun(), baselineFile: file, environment: env }),
        (e: unknown) => e instanceof UserError && e.exitCode === 2 && e.message.startsWith(`baseline ${file}: `),
        JSON.stringify(b),
      );
    }
  });

  it('a throughput drop regresses; a rise does not', () => {
    const file = baselineOf(fakeRun());
    assert.equal(runGate({ resultsDir: fakeRun({ ackPerSec: 3.5 }), baselineFile: file, environment: env }).exitCode, 1);
    assert.equal(runGate({ resultsDir: fakeRun({ ackPerSec: 8 }), baselineFile: file, environment: env }).exitCode, 0);
  });

  it('a figure the baseline has but the run lacks fails (liveness never searchable), tolerances can widen a band', () => {
    const file = baselineOf(fakeRun());
    const none = runGate({ resultsDir: fakeRun({ lags: [undefined, undefined] }), baselineFile: file, environment: env });
    assert.equal(none.exitCode, 1);
    assert.match(none.text, /REGRESSED liveness\.p50_ms: not measured in this run/);
    assert.match(none.text, /REGRESSED liveness\.never_searchable_rate regressed/);
    const wide = runGate({ resultsDir: fakeRun({ p95: 110 }), baselineFile: file, tolerances: 'latency.*.p95=100', environment: env });
    assert.equal(wide.exitCode, 0, wide.text);
    assert.equal(runGate({ resultsDir: fakeRun({ p95: 110 }), baselineFile: file, environment: env }).exitCode, 1);
  });

  it('warns when the run was made differently, and a failed run fails the gate', () => {
    const file = baselineOf(fakeRun());
    const other = runGate({ resultsDir: fakeRun({ rate: 10 }), baselineFile: file, environment: { ...env, cpus: 64 } });
    assert.match(other.text, /warning: different parameters \(baseline -> run\): shape\.rate 5 -> 10/);
    assert.match(other.text, /warning: different machine/);
    const failed = runGate({ resultsDir: fakeRun({ outcome: 'failed' }), baselineFile: file, environment: env });
    assert.equal(failed.exitCode, 1);
    assert.match(failed.junit, /name="run\.outcome" time="0">\n\s+<failure/);
    assert.throws(
      () => saveBaseline({ resultsDir: fakeRun({ outcome: 'interrupted' }), out: path.join(os.tmpdir(), 'never.json') }),
      /--allow-failed/,
    );
  });
});
