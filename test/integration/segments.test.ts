// Scale-out against the real local stack: `capacity run --segment 1/2` and `2/2` run together as two processes
// add up to the whole scenario (compared with one unsegmented run of the same shape), never send the same
// corpus form twice, and merge into one results directory that gates and reports like a single run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runGate, saveBaseline } from '../../gates/gate.ts';
import { prepareCorpus } from '../../runner/corpus.ts';
import { mergeResults } from '../../runner/merge.ts';
import { requestOf, RESULT_FILES, type RunSummary } from '../../results-dir/index.ts';
import { runScenario } from '../../runner/run.ts';
import { quantile } from '../../core/stats.ts';
import { corpusForms } from '../../scenarios/lib/ownership.ts';
import { plannedSubmissions, resolveShape } from '../../scenarios/lib/shapes.ts';
import { planOwnership } from '../../runner/pool.ts';
import { k6Binary } from '../../stack/components/k6.ts';
import type { StackContext } from '../../stack/component.ts';
import { repoRoot } from '../../core/paths.ts';
import { ensureStackUp } from './stack-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-segments-it-'));
const RATE = 5;
const SECONDS = 12;
const USERS = 10;
const DOMAIN = 'it-seg';

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
}

function capacity(args: string[], timeoutMs: number): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'capacity'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const readJson = <T>(f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const ndjson = <T>(f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

/** Every request's duration in a results directory's request log. */
function durations(dir: string): number[] {
  return fs
    .readFileSync(path.join(dir, RESULT_FILES.requestLog), 'utf8')
    .split('\n')
    .flatMap((l) => {
      const r = requestOf(l);
      return r ? [r.d] : [];
    });
}

describe('k6 execution segments', { timeout: 240_000 }, () => {
  let ctx: StackContext;
  let whole: { dir: string; summary: RunSummary };
  const seed = randomInt(1, 2 ** 31 - 1);
  const segDirs: string[] = [];
  let corpusDir: string;

  before(async () => {
    ctx = await ensureStackUp();
    // The whole scenario once, unsegmented, with another seed (the segments must not resend its forms).
    const out = await runScenario({
      scenario: 'steady',
      target: 'local',
      domain: DOMAIN,
      app: 'household',
      users: USERS,
      seed: seed + 1,
      shape: { rate: RATE, durationS: SECONDS },
      resultsRoot: path.join(tmp, 'whole'),
      collectIntervalMs: 1000,
      livenessEvery: 3,
      log: () => undefined,
      echo: () => undefined,
    });
    whole = { dir: out.dir, summary: out.summary };
    // The segments' corpus, made once beforehand: two processes must not generate the same corpus at once.
    // Sized as the runner sizes it: each segment's VU pool (as k6 plans it) owns that segment's workers.
    const shape = resolveShape('steady', { rate: RATE, durationS: SECONDS, users: USERS });
    const { ownership } = await planOwnership(
      k6Binary(ctx),
      'steady',
      { baseUrl: 'http://127.0.0.1', domain: DOMAIN, shape: { ...shape } },
      USERS,
      2,
    );
    const count = corpusForms(ownership, plannedSubmissions('steady', shape));
    corpusDir = (await prepareCorpus(ctx.paths.home, { app: 'household', users: USERS, count, seed, domain: DOMAIN }, () => undefined)).dir;
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('segments 1/2 and 2/2, run together, add up to the whole scenario', async () => {
    const results = path.join(tmp, 'segments');
    const args = (i: number) => [
      'run',
      'steady',
      '--segment',
      `${i}/2`,
      '--seed',
      String(seed),
      '--rate',
      String(RATE),
      '--duration',
      `${SECONDS}s`,
      '--users',
      String(USERS),
      '--domain',
      DOMAIN,
      '--interval',
      '1s',
      '--liveness-every',
      '3',
      '--results',
      results,
    ];
    const [a, b] = await Promise.all([capacity(args(1), 150_000), capacity(args(2), 150_000)]);
    assert.equal(a.code, 0, a.stderr.slice(-2000));
    assert.equal(b.code, 0, b.stderr.slice(-2000));
    for (const [i, p] of [
      [1, a],
      [2, b],
    ] as const) {
      const dir = /^results: (.+)$/m.exec(p.stdout)![1]!;
      assert.match(path.basename(dir), new RegExp(`-steady-seg${i}of2$`));
      segDirs.push(dir);
      const m = readJson<{
        segment: { index: number; count: number; executionSegment: string; executionSegmentSequence: string };
        corpus: { reused: boolean; dir: string };
      }>(path.join(dir, 'manifest.json'));
      assert.deepEqual(m.segment, {
        index: i,
        count: 2,
        executionSegment: i === 1 ? '0:1/2' : '1/2:1',
        executionSegmentSequence: '0,1/2,1',
      });
      assert.equal(m.corpus.dir, corpusDir, 'both segments send from the same corpus');
    }
    const sums = segDirs.map((d) => readJson<RunSummary>(path.join(d, 'summary.json')));
    // they ran at the same time
    const span = (d: string) => {
      const secs = fs
        .readFileSync(path.join(d, 'timeseries.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[0]));
      return [Math.min(...secs), Math.max(...secs)] as const;
    };
    const [s1, s2] = segDirs.map(span) as [readonly [number, number], readonly [number, number]];
    assert.ok(s1[0] <= s2[1] && s2[0] <= s1[1], `the segments overlapped in time (${s1} and ${s2})`);
    // each did about half, together the whole
    const total = sums[0]!.requests + sums[1]!.requests;
    process.stderr.write(
      `[segments] requests: segment 1/2 ${sums[0]!.requests}, 2/2 ${sums[1]!.requests}, together ${total}; unsegmented ${whole.summary.requests}; seconds ${s1} and ${s2}\n`,
    );
    assert.ok(Math.abs(sums[0]!.requests - sums[1]!.requests) <= 1, `an even split: ${sums[0]!.requests} + ${sums[1]!.requests}`);
    assert.ok(Math.abs(total - whole.summary.requests) <= 2, `segments ${total} requests, unsegmented ${whole.summary.requests}`);
    assert.ok(Math.abs(total - RATE * SECONDS) <= 2, `${total} requests for ${RATE}/s over ${SECONDS} s`);
    assert.equal(sums[0]!.failedRequests + sums[1]!.failedRequests, 0);
  });

  it('no corpus form is sent by both segments: each worker belongs to one segment and sends its first forms in order', () => {
    assert.equal(segDirs.length, 2, 'the segments ran');
    const acks = segDirs.map((d) => ndjson<{ ack: string; w: number; t: number }>(path.join(d, 'acks.ndjson')));
    const all = acks.flat();
    const ids = new Set(all.map((a) => a.ack));
    assert.equal(ids.size, all.length, 'no form id acknowledged twice');
    // segment i sends workers w % 2 === i - 1 (scenarios/lib/ownership.ts)
    acks.forEach((list, i) => {
      for (const a of list) assert.equal(a.w % 2, i, `worker ${a.w} sent by segment ${i + 1}`);
    });
    // a worker's forms go one at a time, in timeline order: its acknowledged forms are the first of its timeline,
    // acknowledged in that order. An original keeps its instanceID as form id; the corpus's own duplicates get new ids.
    const users = readJson<{ file: string }[]>(path.join(corpusDir, 'users.json'));
    const lines = users.map((u) =>
      fs
        .readFileSync(path.join(corpusDir, u.file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { instanceID: string; kind: string }),
    );
    for (let w = 0; w < users.length; w++) {
      const mine = all.filter((a) => a.w === w).sort((a, b) => a.t - b.t);
      assert.ok(mine.length > 0, `worker ${w} sent forms`);
      mine.forEach((a, k) => {
        const planned = lines[w]![k]!;
        if (planned.kind !== 'duplicate') assert.equal(a.ack, planned.instanceID, `worker ${w}: form ${k} acknowledged in timeline order`);
        else assert.notEqual(a.ack, planned.instanceID, `worker ${w}: form ${k} is a duplicate and gets a new id`);
      });
    }
    const workers = acks.map((list) => new Set(list.map((a) => a.w)));
    process.stderr.write(`[segments] workers per segment: ${[...workers[0]!].sort().join(',')} | ${[...workers[1]!].sort().join(',')}\n`);
  });

  it('merges into one results directory with recomputed percentiles, which gates and reports', async () => {
    assert.equal(segDirs.length, 2, 'the segments ran');
    const out = path.join(tmp, 'merged');
    const merged = await mergeResults({ dirs: segDirs, out });
    for (const f of Object.values(RESULT_FILES)) assert.ok(fs.existsSync(path.join(out, f)), `${f} in the merged directory`);
    const sums = segDirs.map((d) => readJson<RunSummary>(path.join(d, 'summary.json')));
    assert.equal(merged.summary.requests, sums[0]!.requests + sums[1]!.requests);
    assert.equal(merged.summary.acknowledged, sums[0]!.acknowledged + sums[1]!.acknowledged);
    assert.equal(ndjson(path.join(out, 'acks.ndjson')).length, merged.summary.acknowledged);
    assert.equal(ndjson(path.join(out, 'liveness.ndjson')).length, sums[0]!.liveness.followed + sums[1]!.liveness.followed);
    // the per-second series adds up
    const tsRequests = fs
      .readFileSync(path.join(out, 'timeseries.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .reduce((s, l) => s + Number(l.split(',')[2]), 0);
    assert.equal(tsRequests, merged.summary.requests);
    // percentiles are those of every raw sample of both segments
    const raw = [...durations(segDirs[0]!), ...durations(segDirs[1]!)].sort((x, y) => x - y);
    const k6sum = readJson<{ metrics: Record<string, Record<string, number>> }>(path.join(out, 'k6-summary.json'));
    assert.equal(k6sum.metrics['http_req_duration{endpoint:receiver}']!['p(95)'], quantile(raw, 0.95));
    assert.equal(merged.summary.endpoints.receiver!.p95, quantile(raw, 0.95));
    // the recomputation agrees with k6's own figures on one segment
    const seg1 = readJson<{ metrics: Record<string, Record<string, number>> }>(path.join(segDirs[0]!, 'k6-summary.json'));
    const own = durations(segDirs[0]!).sort((x, y) => x - y);
    assert.equal(
      own.length,
      readJson<{ metrics: Record<string, Record<string, number>> }>(path.join(segDirs[0]!, 'k6-summary.json')).metrics.http_reqs!.count,
      'the request log has a line for every request k6 counted',
    );
    assert.ok(Math.abs(seg1.metrics.http_req_duration!['p(95)']! - quantile(own, 0.95)) < 0.01, 'k6 and the request log agree on p95');
    const manifest = readJson<{ segment?: unknown; merged: { segments: unknown[] } }>(path.join(out, 'manifest.json'));
    assert.equal(manifest.segment, undefined);
    assert.equal(manifest.merged.segments.length, 2);

    // one gate: against the unsegmented run, the merged run is the same scenario (no parameter warning)
    const baseline = path.join(tmp, 'whole-baseline.json');
    saveBaseline({ resultsDir: whole.dir, out: baseline });
    const gate = runGate({ resultsDir: out, baselineFile: baseline });
    assert.ok(
      !gate.result.warnings.some((w) => w.includes('different parameters') || w.includes('segment')),
      gate.result.warnings.join('; '),
    );
    assert.ok(gate.result.checks.length > 5);

    // one report, when the report command exists
    if (fs.existsSync(path.join(repoRoot, 'cli', 'commands', 'report.ts'))) {
      const rep = spawnSync(path.join(repoRoot, 'capacity'), ['report', out, '--out', path.join(out, 'report'), '--formats', 'json,md'], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(rep.status, 0, rep.stdout + rep.stderr);
      const report = readJson<Record<string, unknown>>(path.join(out, 'report', 'report.json'));
      assert.ok(report, 'a report of the merged run');
    }
  });
});
