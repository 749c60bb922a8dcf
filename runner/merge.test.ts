import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { mergeK6Summaries, mergeSamples, thresholdFailed } from './merge.ts';
import { quantile } from '../core/stats.ts';

const line = (t: number, d: number, e: string) => JSON.stringify({ e, t, d, s: 200, ok: 1 });

describe('merge', () => {
  it('re-evaluates thresholds on merged figures', () => {
    assert.equal(thresholdFailed('p(95)<900', { 'p(95)': 950 }), true);
    assert.equal(thresholdFailed('p(95)<900', { 'p(95)': 100 }), false);
    assert.equal(thresholdFailed('rate<0.001', { value: 0, passes: 0, fails: 10 }), false);
    assert.equal(thresholdFailed('rate>0.999', { value: 0.5 }), true);
    assert.equal(thresholdFailed('count>=3', { count: 3 }), false);
    assert.equal(thresholdFailed('something odd', { count: 3 }), undefined);
  });

  it("request percentiles come from every request of the merged request log, never from averaging the segments' percentiles", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-merge-'));
    const a = Array.from({ length: 50 }, (_, i) => 10 + i); // segment 1: 10..59 ms
    const b = Array.from({ length: 50 }, (_, i) => 500 + i * 10); // segment 2: 500..990 ms
    const lines = [
      'Request Failed',
      ...a.map((v, i) => line(100_000 + i, v, 'receiver')),
      ...b.map((v, i) => line(100_000 + i, v, i % 2 ? 'receiver' : 'restore')),
    ];
    const log = path.join(dir, 'requests.ndjson');
    fs.writeFileSync(log, `${lines.join('\n')}\n`);
    const seg = (p95: number, count: number, passes: number) => ({
      metrics: {
        http_req_duration: { avg: 0, min: 0, med: 0, max: 0, 'p(90)': 0, 'p(95)': p95, 'p(99)': 0 },
        http_req_waiting: { avg: p95 / 2, min: p95 / 10, med: p95 / 3, max: p95, 'p(90)': p95 * 0.9, 'p(95)': p95, 'p(99)': p95 },
        'http_req_duration{endpoint:receiver}': {
          avg: 0,
          min: 0,
          med: 0,
          max: 0,
          'p(90)': 0,
          'p(95)': p95,
          'p(99)': 0,
          thresholds: { 'p(95)<900': false },
        },
        http_reqs: { count, rate: 1 },
        checks: { passes, fails: 1, value: 0 },
        vus_max: { value: 10, min: 10, max: 10 },
      },
    });
    const merged = await mergeK6Summaries([seg(57, 50, 49), seg(965, 50, 50)], log, 10);
    const all = [...a, ...b].sort((x, y) => x - y);
    assert.equal(merged.metrics.http_req_duration!['p(95)'], quantile(all, 0.95));
    const recv = [...a, ...b.filter((_, i) => i % 2)].sort((x, y) => x - y);
    assert.equal(merged.metrics['http_req_duration{endpoint:receiver}']!['p(95)'], quantile(recv, 0.95));
    assert.equal(merged.metrics['http_req_duration{endpoint:receiver}']!.thresholds!['p(95)<900'], quantile(recv, 0.95) >= 900);
    assert.deepEqual(merged.metrics.http_reqs, { count: 100, rate: 10 });
    assert.deepEqual(merged.metrics.checks, { passes: 99, fails: 2, value: 99 / 101 });
    assert.equal(merged.metrics.vus_max!.value, 20);
    // a trend the request log does not hold: bounded by the segments' figures (min of mins, highest of the rest)
    assert.deepEqual(merged.metrics.http_req_waiting, {
      avg: 965 / 2,
      med: 965 / 3,
      'p(90)': 965 * 0.9,
      'p(95)': 965,
      'p(99)': 965,
      max: 965,
      min: 5.7,
    });
  });

  it("samples keep one view per system: the lowest segment's, and whatever only one segment saw", () => {
    const s = (ts: string, source: string, host: string, v: number) =>
      JSON.stringify({ ts, source, host, metric: 'm', value: v, labels: {} });
    const out = mergeSamples([
      { index: 2, lines: [s('t1', 'postgres', 'db', 2), s('t2', 'host', 'gen-2', 2)] },
      { index: 1, lines: [s('t2', 'postgres', 'db', 1), s('t1', 'host', 'gen-1', 1)] },
    ]);
    assert.deepEqual(out.from, { 'postgres@db': 1, 'host@gen-1': 1, 'host@gen-2': 2 });
    assert.deepEqual(
      out.lines.map((l) => JSON.parse(l).host),
      ['gen-1', 'db', 'gen-2'],
    );
  });
});
