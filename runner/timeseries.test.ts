import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { failingSince } from './run.ts';
import { aggregateK6Csv, quantile, rampSteps, timeseriesCsv, type SecondRow } from './timeseries.ts';

const header = 'metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata';
const req = (t: number, ms: number, failed: 0 | 1, endpoint: string) => [
  `http_req_duration,${t},${ms},,,,true,,POST,http://x/a,HTTP/1.1,s,,201,,,http://x/a,endpoint=${endpoint}&form=f,`,
  `http_req_failed,${t},${failed},,,,true,,POST,http://x/a,HTTP/1.1,s,,201,,,http://x/a,endpoint=${endpoint}&form=f,`,
];

describe('per-second time series from k6 CSV', () => {
  it('counts requests and failures and computes percentiles per second and endpoint (gzipped input)', async () => {
    const lines = [header];
    for (let i = 1; i <= 100; i++) lines.push(...req(1000, i, i > 98 ? 1 : 0, 'receiver'));
    lines.push(...req(1000, 7, 0, 'restore'), ...req(1001, 50, 0, 'receiver'));
    lines.push('dropped_iterations,1001,3,,,,,,,,,,,,,,,,', 'vus,1000,12,,,,,,,,,,,,,,,,', 'vus,1000,14,,,,,,,,,,,,,,,,');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ts-')), 'm.csv.gz');
    fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));
    const rows = await aggregateK6Csv(file);
    const r = rows.find((x) => x.second === 1000 && x.endpoint === 'receiver')!;
    assert.equal(r.requests, 100);
    assert.equal(r.failed, 2);
    assert.equal(r.p50, 50.5);
    assert.ok(Math.abs(r.p95 - 95.05) < 1e-9);
    assert.equal(r.max, 100);
    assert.equal(r.vus, 14);
    assert.equal(rows.find((x) => x.second === 1000 && x.endpoint === 'restore')!.requests, 1);
    assert.equal(rows.find((x) => x.second === 1001)!.dropped, 3);
    assert.match(timeseriesCsv(rows), /^second,endpoint,requests,failed,p50_ms/);
  });

  it('quantiles interpolate', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([], 0.5), 0);
  });

  const row = (second: number, requests: number, failed: number, p95: number, dropped = 0): SecondRow =>
    ({ second, endpoint: 'receiver', requests, failed, p50: p95 / 2, p95, p99: p95, max: p95, dropped, vus: 1 });

  it('ramp steps: sustained until p95, failures or drops break', () => {
    const rows: SecondRow[] = [];
    for (let s = 0; s < 10; s++) rows.push(row(s, 10, 0, 100));
    for (let s = 10; s < 20; s++) rows.push(row(s, 20, 0, 2000));
    const steps = rampSteps(rows, 0, [10, 20], 10, { p95Ms: 1000, failedRate: 0.01 });
    assert.deepEqual(steps.map((s) => [s.rate, s.sustained, s.achievedPerSec]), [[10, true, 10], [20, false, 20]]);
  });

  it('finds when a target stopped answering, and not a passing blip', () => {
    const rows = [row(0, 10, 0, 10), row(1, 10, 10, 10), row(2, 10, 0, 10), row(3, 10, 10, 5), row(4, 10, 9, 5)];
    assert.equal(failingSince(rows), 3);
    assert.equal(failingSince(rows.slice(0, 3)), undefined);
  });
});
