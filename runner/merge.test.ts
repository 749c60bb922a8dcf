import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { mergeK6Summaries, mergeSamples, thresholdFailed } from './merge.ts';
import { quantile } from './timeseries.ts';

const HEADER = 'metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata';
const row = (metric: string, t: number, v: number, endpoint: string) => `${metric},${t},${v},,,,true,,POST,u,HTTP/1.1,s,,201,,,u,endpoint=${endpoint}&form=f,`;

describe('merge', () => {
  it('re-evaluates thresholds on merged figures', () => {
    assert.equal(thresholdFailed('p(95)<900', { 'p(95)': 950 }), true);
    assert.equal(thresholdFailed('p(95)<900', { 'p(95)': 100 }), false);
    assert.equal(thresholdFailed('rate<0.001', { value: 0, passes: 0, fails: 10 }), false);
    assert.equal(thresholdFailed('rate>0.999', { value: 0.5 }), true);
    assert.equal(thresholdFailed('count>=3', { count: 3 }), false);
    assert.equal(thresholdFailed('something odd', { count: 3 }), undefined);
  });

  it('percentiles come from all raw samples, never from averaging the segments\' percentiles', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-merge-'));
    const a = Array.from({ length: 50 }, (_, i) => 10 + i); // segment 1: 10..59 ms
    const b = Array.from({ length: 50 }, (_, i) => 500 + i * 10); // segment 2: 500..990 ms
    const lines = [HEADER, ...a.map((v, i) => row('http_req_duration', 100 + (i % 5), v, 'receiver')), ...b.map((v, i) => row('http_req_duration', 100 + (i % 5), v, i % 2 ? 'receiver' : 'restore'))];
    const csv = path.join(dir, 'm.csv.gz');
    fs.writeFileSync(csv, zlib.gzipSync(`${lines.join('\n')}\n`));
    const seg = (p95: number, count: number, passes: number) => ({ metrics: {
      http_req_duration: { avg: 0, min: 0, med: 0, max: 0, 'p(90)': 0, 'p(95)': p95, 'p(99)': 0 },
      'http_req_duration{endpoint:receiver}': { avg: 0, min: 0, med: 0, max: 0, 'p(90)': 0, 'p(95)': p95, 'p(99)': 0, thresholds: { 'p(95)<900': false } },
      http_reqs: { count, rate: 1 },
      checks: { passes, fails: 1, value: 0 },
      vus_max: { value: 10, min: 10, max: 10 },
    } });
    const merged = await mergeK6Summaries([seg(57, 50, 49), seg(965, 50, 50)], csv, 10);
    const all = [...a, ...b].sort((x, y) => x - y);
    assert.equal(merged.metrics.http_req_duration!['p(95)'], quantile(all, 0.95));
    const recv = [...a, ...b.filter((_, i) => i % 2)].sort((x, y) => x - y);
    assert.equal(merged.metrics['http_req_duration{endpoint:receiver}']!['p(95)'], quantile(recv, 0.95));
    assert.equal(merged.metrics['http_req_duration{endpoint:receiver}']!.thresholds!['p(95)<900'], quantile(recv, 0.95) >= 900);
    assert.deepEqual(merged.metrics.http_reqs, { count: 100, rate: 10 });
    assert.deepEqual(merged.metrics.checks, { passes: 99, fails: 2, value: 99 / 101 });
    assert.equal(merged.metrics.vus_max!.value, 20);
  });

  it('samples keep one view per system: the lowest segment\'s, and whatever only one segment saw', () => {
    const s = (ts: string, source: string, host: string, v: number) => JSON.stringify({ ts, source, host, metric: 'm', value: v, labels: {} });
    const out = mergeSamples([
      { index: 2, lines: [s('t1', 'postgres', 'db', 2), s('t2', 'host', 'gen-2', 2)] },
      { index: 1, lines: [s('t2', 'postgres', 'db', 1), s('t1', 'host', 'gen-1', 1)] },
    ]);
    assert.deepEqual(out.from, { 'postgres@db': 1, 'host@gen-1': 1, 'host@gen-2': 2 });
    assert.deepEqual(out.lines.map((l) => JSON.parse(l).host), ['gen-1', 'db', 'gen-2']);
  });
});
