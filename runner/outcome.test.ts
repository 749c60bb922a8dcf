import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ResultsDir, type SecondRow } from '../results-dir/index.ts';
import { resolveShape } from '../scenarios/lib/shapes.ts';
import { runOutcome, type OutcomeInput } from './outcome.ts';

const row = (second: number, requests: number, failed = 0): SecondRow => ({
  second,
  endpoint: 'receiver',
  requests,
  failed,
  p50: 50,
  p95: 90,
  p99: 95,
  max: 99,
  dropped: 0,
  vus: 2,
});

function input(over: Partial<OutcomeInput> = {}): OutcomeInput {
  const results = ResultsDir.create(fs.mkdtempSync(path.join(os.tmpdir(), 'outcome-')), 'steady');
  results.writeJson('k6Summary', { metrics: { http_reqs: { count: 30 }, dropped_iterations: { count: 2 } } });
  results.writeText('liveness', '{"formId":"a","ackedAt":1,"searchableAt":5,"lagMs":4}\n{"formId":"b","ackedAt":2}\n');
  const rows = [row(100, 10), row(101, 10), row(102, 10)];
  return {
    results,
    scenario: 'steady',
    target: 'the local stack',
    startedAt: '2026-12-04T10:00:00Z',
    shape: resolveShape('steady', {}),
    rows,
    durations: new Map([['receiver', Array.from({ length: 30 }, (_, i) => i + 1)]]),
    logged: 30,
    submissions: { sent: 30, accepted: 30 },
    lagsMs: [4],
    k6: { exitCode: 0, interrupted: false },
    ...over,
  };
}

describe('the run outcome', () => {
  it('passes when every threshold holds, with figures from the rows and k6', () => {
    const s = runOutcome(input());
    assert.equal(s.outcome, 'passed');
    assert.equal(s.requests, 30);
    assert.equal(s.durationS, 3);
    assert.equal(s.acknowledgedPerSec, 10);
    assert.equal(s.droppedIterations, 2);
    assert.deepEqual([s.liveness.followed, s.liveness.searchable, s.liveness.neverSearchable], [2, 1, 1]);
    assert.equal(s.requestsNotLogged, undefined);
  });

  it('fails the acceptance threshold when HQ did not accept every submission', () => {
    const s = runOutcome(input({ submissions: { sent: 30, accepted: 20 } }));
    assert.equal(s.outcome, 'thresholds-failed');
    assert.match(s.message, /1 threshold\(s\) failed/);
  });

  it('says when the target stopped answering, and when k6 sent nothing or was stopped', () => {
    const dead = runOutcome(input({ rows: [row(100, 10), row(101, 10, 10), row(102, 10, 10)] }));
    assert.equal(dead.outcome, 'failed');
    assert.match(dead.message, /stopped answering 1 s into the run/);
    const none = runOutcome(input({ rows: [], logged: 0 }));
    assert.equal(none.outcome, 'failed');
    assert.match(none.message, /k6 sent no request/);
    assert.equal(none.requestsNotLogged, 30, 'requests k6 counted without a line are reported');
    assert.equal(runOutcome(input({ k6: { exitCode: 105, interrupted: true } })).outcome, 'interrupted');
  });
});
