import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestOf, type RequestLine, timeseriesCsv, type SecondRow } from '../results-dir/index.ts';
import { failingSince } from './outcome.ts';
import { aggregateRequests, progressOfRuns, rampSteps } from './timeseries.ts';
import { quantile } from '../core/stats.ts';

const line = (t: number, d: number, ok: 0 | 1, e: string) => JSON.stringify({ e, t, d, s: ok ? 201 : 500, ok, w: 0, form: 'f' });

describe('per-second time series from the request log', () => {
  it('counts requests and failures and computes percentiles per second and endpoint', async () => {
    const text: string[] = ['Request Failed (a k6 warning, not a request line)'];
    for (let i = 1; i <= 100; i++) text.push(line(1_000_000 + i, i, i > 98 ? 0 : 1, 'receiver'));
    text.push(line(1_000_500, 7, 1, 'restore'), line(1_001_200, 50, 1, 'receiver'), '{"e":"receiver","t":1001300,"d"');
    const lines = text.map(requestOf).filter((r): r is RequestLine => !!r);
    assert.equal(lines.length, 102, 'other lines and a line cut short are skipped');
    const { rows, durations } = await aggregateRequests(lines, [
      { second: 1000, droppedTotal: 0, vus: 14 },
      { second: 1001, droppedTotal: 3, vus: 12 },
    ]);
    const r = rows.find((x) => x.second === 1000 && x.endpoint === 'receiver')!;
    assert.equal(r.requests, 100);
    assert.equal(r.failed, 2);
    assert.equal(r.p50, 50.5);
    assert.ok(Math.abs(r.p95 - 95.05) < 1e-9);
    assert.equal(r.max, 100);
    assert.equal(r.vus, 14);
    assert.equal(rows.find((x) => x.second === 1000 && x.endpoint === 'restore')!.requests, 1);
    assert.equal(rows.find((x) => x.second === 1001)!.dropped, 3);
    assert.equal(durations.get('receiver')!.length, 101);
    assert.equal(durations.get('receiver')!.at(-1), 100, 'sorted');
    assert.match(timeseriesCsv(rows), /^second,endpoint,requests,failed,p50_ms/);
    // dropped iterations per second back to k6's running total; two segments' add up (to merge them)
    assert.deepEqual(
      progressOfRuns([rows]).map((p) => [p.second, p.droppedTotal, p.vus]),
      [
        [1000, 0, 14],
        [1001, 3, 12],
      ],
    );
    assert.deepEqual(
      progressOfRuns([rows, rows]).map((p) => [p.second, p.droppedTotal, p.vus]),
      [
        [1000, 0, 28],
        [1001, 6, 24],
      ],
    );
  });

  it('quantiles interpolate', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([], 0.5), 0);
  });

  const row = (second: number, requests: number, failed: number, p95: number, dropped = 0): SecondRow => ({
    second,
    endpoint: 'receiver',
    requests,
    failed,
    p50: p95 / 2,
    p95,
    p99: p95,
    max: p95,
    dropped,
    vus: 1,
  });

  it('ramp steps: sustained until p95, failures or drops break', () => {
    const rows: SecondRow[] = [];
    for (let s = 0; s < 10; s++) rows.push(row(s, 10, 0, 100));
    for (let s = 10; s < 20; s++) rows.push(row(s, 20, 0, 2000));
    const steps = rampSteps(rows, 0, [10, 20], 10, { p95Ms: 1000, failedRate: 0.01 });
    assert.deepEqual(
      steps.map((s) => [s.rate, s.sustained, s.achievedPerSec]),
      [
        [10, true, 10],
        [20, false, 20],
      ],
    );
  });

  it('ramp steps: a step the run stopped in (k6 aborted on a threshold) is not sustained, however quiet it looked', () => {
    const rows: SecondRow[] = [];
    for (let s = 0; s < 10; s++) rows.push(row(s, 10, 0, 100));
    // the 30/s step: 4 s of answers within the limits, then k6 stopped
    for (let s = 10; s < 14; s++) rows.push(row(s, 30, 0, 300));
    const steps = rampSteps(rows, 0, [10, 30], 10, { p95Ms: 1000, failedRate: 0.01 });
    assert.deepEqual(
      steps.map((s) => [s.rate, s.sustained]),
      [
        [10, true],
        [30, false],
      ],
    );
  });

  it('finds when a target stopped answering, and not a passing blip', () => {
    const rows = [row(0, 10, 0, 10), row(1, 10, 10, 10), row(2, 10, 0, 10), row(3, 10, 10, 5), row(4, 10, 9, 5)];
    assert.equal(failingSince(rows), 3);
    assert.equal(failingSince(rows.slice(0, 3)), undefined);
  });
});
