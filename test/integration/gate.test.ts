// capacity gate against the real local stack: a baseline from a run passes that same run, and a run made slower
// on purpose (web workers restarted with CAPACITY_HQ_DELAY_MS) fails with JUnit naming the latency metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runGate, saveBaseline } from '../../gates/gate.ts';
import { runScenario, type RunOptions } from '../../runner/run.ts';
import type { StackContext } from '../../stack/component.ts';
import { repoRoot } from '../../core/paths.ts';
import { stackUp, stopComponent } from '../../stack/stack.ts';
import { ensureStackUp } from './stack-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-gate-it-'));
const WEB = ['web-1', 'web-2', 'web-3'];
const DELAY_MS = 300;

function steady(): RunOptions {
  return {
    scenario: 'steady',
    target: 'local',
    domain: 'it-gate',
    app: 'household',
    users: 10,
    shape: { rate: 5, durationS: 12 },
    resultsRoot: path.join(tmp, 'results'),
    collectIntervalMs: 1000,
    livenessEvery: 3,
    log: () => undefined,
    echo: () => undefined,
  };
}

/** Restarts only the web workers, with the given extra delay per request (read when they start). */
async function restartWeb(ctx: StackContext, delayMs: number | undefined): Promise<void> {
  for (const w of WEB) await stopComponent(ctx, w);
  if (delayMs === undefined) delete process.env.CAPACITY_HQ_DELAY_MS;
  else process.env.CAPACITY_HQ_DELAY_MS = String(delayMs);
  try {
    await stackUp(ctx);
  } finally {
    delete process.env.CAPACITY_HQ_DELAY_MS;
  }
}

describe('capacity gate on real runs', { timeout: 240_000 }, () => {
  let ctx: StackContext;
  let baselineDir: string;
  const baselineFile = path.join(tmp, 'baseline.json');

  before(async () => {
    ctx = await ensureStackUp();
    const out = await runScenario(steady());
    assert.equal(out.summary.outcome, 'passed', out.summary.message);
    baselineDir = out.dir;
    saveBaseline({ resultsDir: baselineDir, out: baselineFile });
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('passes against the run it was recorded from', () => {
    const junit = path.join(tmp, 'same.xml');
    const g = runGate({ resultsDir: baselineDir, baselineFile, junitFile: junit });
    assert.equal(g.exitCode, 0, g.text);
    assert.ok(g.result.checks.some((c) => c.id === 'latency.receiver.p95'));
    assert.ok(
      g.result.checks.some((c) => c.id.startsWith('pillow.')),
      'pillow lag from the samples',
    );
    assert.ok(
      g.result.checks.some((c) => c.id === 'liveness.p50_ms'),
      'liveness from the followed forms',
    );
    assert.doesNotMatch(fs.readFileSync(junit, 'utf8'), /<failure/);
  });

  it(`fails on a run made ${DELAY_MS} ms slower per request, naming the metric in JUnit and exiting 1`, async () => {
    let slowDir: string;
    try {
      await restartWeb(ctx, DELAY_MS);
      const out = await runScenario(steady());
      slowDir = out.dir;
    } finally {
      await restartWeb(ctx, undefined); // the shared stack goes back to full speed whatever happened
    }
    const junit = path.join(tmp, 'slow.xml');
    // through the CLI, as CI calls it
    const cli = spawnSync(path.join(repoRoot, 'capacity'), ['gate', slowDir, '--baseline', baselineFile, '--junit', junit], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    process.stderr.write(`[gate] ${cli.stdout.split('\n').join('\n[gate] ')}\n`);
    assert.equal(cli.status, 1, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^REGRESSED latency\.receiver\.p50 regressed: baseline [\d.]+ ms, measured [\d.]+ ms, change \+\d+\.\d %/m);
    assert.match(cli.stdout, /^REGRESSED latency\.receiver\.p95 regressed/m);
    const xml = fs.readFileSync(junit, 'utf8');
    const failure =
      /<testcase classname="capacity\.gate\.latency" name="latency\.receiver\.p50" time="0">\s*<failure message="latency\.receiver\.p50: baseline ([\d.]+) ms, measured ([\d.]+) ms, change \+([\d.]+) %" type="regression">/.exec(
        xml,
      );
    assert.ok(failure, `JUnit names latency.receiver.p50 with baseline, measured and change:\n${xml}`);
    assert.ok(
      Number(failure[2]) - Number(failure[1]) >= DELAY_MS * 0.9,
      `the p50 moved by about the delay (${failure[1]} -> ${failure[2]} ms)`,
    );
    assert.doesNotMatch(xml, /name="error_rate" time="0">\s*<failure/, 'slower is not failing');
    // and the slower run, gated against itself, passes: the failure is the delay, not the run
    saveBaseline({ resultsDir: slowDir!, out: path.join(tmp, 'slow-baseline.json') });
    assert.equal(runGate({ resultsDir: slowDir!, baselineFile: path.join(tmp, 'slow-baseline.json') }).exitCode, 0);
  });
});
