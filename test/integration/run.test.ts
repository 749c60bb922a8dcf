// `capacity run` against the real local stack: every scenario briefly, a target that stops mid-run, a target
// that is down, and Ctrl-C. Each run is bounded (seconds, at a few forms per second).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { UserError } from '../../core/errors.ts';
import { runScenario, type RunOptions } from '../../runner/run.ts';
import { privateDir } from '../../targets/index.ts';
import type { RunSummary } from '../../results-dir/index.ts';
import type { ScenarioName, ShapeParams } from '../../scenarios/lib/shapes.ts';
import type { StackContext } from '../../stack/component.ts';
import { repoRoot } from '../../core/paths.ts';
import { stackUp, stopComponent } from '../../stack/stack.ts';
import { ensureStackUp } from './stack-fixture.ts';

const resultsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-results-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the newest results folder under `root` has at least `n` acknowledged forms. */
async function waitForAcks(root: string, n: number, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dirs = fs
      .readdirSync(root)
      .filter((d) => fs.statSync(path.join(root, d)).isDirectory())
      .sort();
    const newest = dirs[dirs.length - 1];
    const acks = newest ? path.join(root, newest, 'acks.ndjson') : '';
    if (acks && fs.existsSync(acks) && fs.readFileSync(acks, 'utf8').split('\n').filter(Boolean).length >= n)
      return path.join(root, newest!);
    await sleep(200);
  }
  throw new Error(`no ${n} acknowledged forms within ${timeoutMs} ms`);
}

function options(scenario: ScenarioName, shape: Partial<ShapeParams>, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    scenario,
    target: 'local',
    domain: 'it-run',
    app: 'household',
    users: 10,
    shape,
    resultsRoot,
    collectIntervalMs: 1000,
    livenessEvery: 3,
    log: () => undefined,
    echo: () => undefined,
    ...extra,
  };
}

function assertResults(dir: string, summary: RunSummary): void {
  for (const f of [
    'manifest.json',
    'k6-summary.json',
    'requests.ndjson',
    'k6-progress.ndjson',
    'timeseries.csv',
    'acks.ndjson',
    'liveness.ndjson',
    'samples.ndjson',
    'summary.json',
    'summary.txt',
    'k6.log',
  ]) {
    assert.ok(fs.existsSync(path.join(dir, f)), `${f} in ${dir}`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.status, 'finished');
  assert.ok(manifest.parameters.seed > 0);
  assert.match(manifest.versions.k6, /^v1\./);
  // capacity's k6 build: the scenario runs through scenarios/native-run.ts, its submissions through k6/x/capacity
  assert.deepEqual(manifest.versions.k6Extensions, ['k6/x/capacity']);
  assert.equal(manifest.script, 'scenarios/native-run.ts');
  const ts = fs.readFileSync(path.join(dir, 'timeseries.csv'), 'utf8').trim().split('\n');
  assert.ok(ts.length > 3, 'per-second rows');
  const acks = fs.readFileSync(path.join(dir, 'acks.ndjson'), 'utf8').trim().split('\n').filter(Boolean);
  assert.equal(acks.length, summary.acknowledged, 'every acknowledged form id recorded');
  const samples = fs.readFileSync(path.join(dir, 'samples.ndjson'), 'utf8').trim().split('\n');
  assert.ok(samples.length > 10, 'collector samples written during the run');
  // no secret in anything written
  const everything = fs
    .readdirSync(dir)
    .filter((f) => !f.endsWith('.gz'))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  assert.doesNotMatch(everything, /"password"/);
}

describe('capacity run', { timeout: 900_000 }, () => {
  let ctx: StackContext;
  before(async () => {
    ctx = await ensureStackUp();
  });

  const cases: [ScenarioName, Partial<ShapeParams>, string[]][] = [
    ['steady', { rate: 4, durationS: 8 }, ['receiver']],
    ['submit-burst', { rate: 2, baselineS: 4, burstS: 5, recoveryS: 3, burstFactor: 3 }, ['receiver']],
    ['restore-storm', { rate: 4, prefillS: 5, windowS: 5 }, ['receiver', 'restore']],
    // exports take their default share of the day: the first export and API page go at the start
    [
      'mixed-day',
      { rate: 4, durationS: 10, restoreRatio: 0.5, searchRatio: 0.5 },
      ['receiver', 'restore', 'search', 'export', 'export_poll', 'export_download', 'api_form', 'api_case'],
    ],
    ['soak', { rate: 3, durationS: 10 }, ['receiver', 'restore', 'export', 'export_poll', 'export_download']],
    [
      'export-storm',
      { rate: 3, durationS: 10, exportUsers: 2, exportIntervalS: 10, apiClients: 1, apiRate: 1 },
      ['receiver', 'export', 'export_poll', 'export_download', 'api_form', 'api_case'],
    ],
    ['ramp-to-break', { stepRate: 4, stepS: 5, maxRate: 8 }, ['receiver']],
  ];
  for (const [scenario, shape, endpoints] of cases) {
    it(`${scenario} runs and keeps what it should`, async () => {
      const out = await runScenario(options(scenario, shape));
      assert.equal(out.summary.outcome, 'passed', `${scenario}: ${out.summary.message}`);
      assert.equal(out.exitCode, 0);
      assert.deepEqual(Object.keys(out.summary.endpoints).sort(), [...endpoints].sort());
      assert.ok(out.summary.acknowledged > 0);
      assert.equal(out.summary.failedRequests, 0);
      assert.ok(out.summary.liveness.searchable > 0, 'some acknowledged forms were followed until searchable');
      assertResults(out.dir, out.summary);
      if (scenario === 'ramp-to-break') {
        assert.deepEqual(
          out.summary.rampToBreak?.steps.map((s) => s.rate),
          [4, 8],
        );
        assert.equal(out.summary.rampToBreak?.highestSustainedRate, 8);
      }
    });
  }

  it('a target that stops mid-run: a clear message, a non-zero exit, partial results', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-stop-'));
    const running = runScenario(options('steady', { rate: 4, durationS: 20, failedRate: 0.001 }, { resultsRoot: root }));
    await waitForAcks(root, 8); // real traffic first, then the front door goes away
    await stopComponent(ctx, 'nginx');
    try {
      const out = await running;
      assert.equal(out.exitCode, 1);
      assert.equal(out.summary.outcome, 'failed');
      assert.match(
        out.summary.message,
        /target stopped answering .*k6 stopped the run early: over 20 % of requests had failed \(--abort-failed\)/,
      );
      assert.ok(out.summary.durationS < 19, `stopped before the planned 20 s: ${out.summary.durationS} s`);
      assert.ok(out.summary.acknowledged > 0, 'what was measured before is kept');
      assert.ok(fs.existsSync(path.join(out.dir, 'timeseries.csv')));
    } finally {
      await stackUp(ctx);
    }
  });

  it('a target that is down: preflight names it and no load is sent', async () => {
    const creds = path.join(resultsRoot, 'creds.csv');
    fs.writeFileSync(creds, 'mw0000,secret\n');
    await assert.rejects(
      runScenario(options('steady', { rate: 1, durationS: 5 }, { target: 'http://127.0.0.1:9', credentialsFile: creds, users: 1 })),
      (e: unknown) => e instanceof UserError && /preflight failed: target reachable/.test(e.message),
    );
    // the credentials handed to k6 in a private file are gone with the refused run
    assert.equal(fs.existsSync(path.join(privateDir(ctx), `credentials-${process.pid}.json`)), false);
  });

  it('Ctrl-C stops k6 cleanly and keeps what was measured (exit 130)', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-int-'));
    const child = spawn(
      path.join(repoRoot, 'capacity'),
      ['run', 'steady', '--rate', '3', '--duration', '60s', '--users', '10', '--domain', 'it-run', '--results', root, '--interval', '1s'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let out = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => (out += d));
    await waitForAcks(root, 6);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 130, err.slice(-2000));
    assert.match(out, /INTERRUPTED/);
    const dir = /results: (\S+)/.exec(out)?.[1];
    assert.ok(dir && fs.existsSync(path.join(dir, 'summary.json')));
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(summary.interrupted, true);
    assert.ok(summary.acknowledged > 0 && summary.acknowledged < 150, `partial: ${summary.acknowledged}`);
  });
});
