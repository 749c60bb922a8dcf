import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptanceThreshold, breakSteps, endpointsOf, k6Scenarios, k6Thresholds, plannedSeconds, plannedSubmissions, resolveShape, SCENARIO_NAMES } from './shapes.ts';

describe('load shapes', () => {
  it('submit-burst: baseline, a burst at factor x the base rate, recovery; open model', () => {
    const p = resolveShape('submit-burst', { rate: 4, baselineS: 10, burstS: 20, recoveryS: 10, burstFactor: 5, vus: 30 });
    const s = k6Scenarios('submit-burst', p).submissions as { executor: string; stages: { target: number; duration: string }[]; maxVUs: number; timeUnit: string };
    assert.equal(s.executor, 'ramping-arrival-rate');
    assert.equal(s.timeUnit, '100s');
    assert.deepEqual(s.stages.map((x) => [x.target / 100, x.duration]), [[4, '10s'], [20, '5s'], [20, '20s'], [4, '5s'], [4, '10s']]);
    assert.equal(s.maxVUs, 30);
    assert.equal(plannedSeconds('submit-burst', p), 50);
    // 4/s for 25 s + 20/s for 25 s, plus a margin of 5
    assert.equal(plannedSubmissions('submit-burst', p), 4 * 25 + 20 * 25 + 5);
  });

  it('every scenario uses arrival-rate executors only (slow responses cannot lower the load)', () => {
    for (const name of SCENARIO_NAMES) {
      for (const sc of Object.values(k6Scenarios(name, resolveShape(name, {})))) {
        assert.match(String(sc.executor), /arrival-rate$/, name);
      }
    }
  });

  it('restore-storm: prefill then every worker inside the window', () => {
    const p = resolveShape('restore-storm', { users: 120, windowS: 60, prefillS: 20, rate: 6 });
    const sc = k6Scenarios('restore-storm', p);
    assert.equal((sc.storm as { rate: number }).rate, 200); // 2 workers/s, per 100 s
    assert.equal((sc.storm as { startTime: string }).startTime, '25s');
    assert.equal((sc.prefill as { exec: string }).exec, 'submit');
    assert.deepEqual(endpointsOf('restore-storm'), ['receiver', 'restore']);
  });

  it('ramp-to-break: steps up to the maximum and aborts on a broken threshold', () => {
    const p = resolveShape('ramp-to-break', { stepRate: 20, maxRate: 100, stepS: 15 });
    assert.deepEqual(breakSteps(p), [20, 40, 60, 80, 100]);
    assert.equal(plannedSeconds('ramp-to-break', p), 75);
    const t = k6Thresholds('ramp-to-break', p);
    assert.deepEqual(t['http_req_duration{endpoint:receiver}'], [{ threshold: 'p(95)<1000', abortOnFail: true, delayAbortEval: '10s' }]);
  });

  it('thresholds default to the peers: writes p95 < 900 ms, reads p95 < 450 ms, failures < 0.1 %', () => {
    const t = k6Thresholds('mixed-day', resolveShape('mixed-day', {}));
    assert.deepEqual(t['http_req_duration{endpoint:receiver}'], ['p(95)<900']);
    assert.deepEqual(t['http_req_duration{endpoint:restore}'], ['p(95)<450']);
    assert.deepEqual(t['http_req_duration{endpoint:search}'], ['p(95)<450']);
    assert.deepEqual(t.http_req_failed, ['rate<0.001']);
    assert.equal(t.submit_accepted, undefined, 'held by the runner on the request log');
    assert.deepEqual(acceptanceThreshold(resolveShape('mixed-day', {})), { metric: 'submit_accepted', expression: 'rate>0.999', min: 0.999 });
    assert.deepEqual(t.checks, ['rate>0.999']);
    // submissions only: no k6 checks to hold a threshold on
    assert.equal(k6Thresholds('steady', resolveShape('steady', {})).checks, undefined);
  });

  it('mixed-day and soak are one scenario on one VU pool (every VU submits for the workers it owns)', () => {
    for (const name of ['mixed-day', 'soak'] as const) {
      const p = resolveShape(name, { rate: 4, vus: 20 });
      const sc = k6Scenarios(name, p);
      assert.deepEqual(Object.keys(sc), ['day']);
      assert.equal(sc.day!.exec, 'mixed');
      assert.equal(sc.day!.maxVUs, 20);
      // per 100 s: submissions plus restores plus searches
      assert.equal(sc.day!.rate, Math.round(4 * (1 + p.restoreRatio + p.searchRatio) * 100));
    }
    assert.equal(resolveShape('soak', {}).searchRatio, 0);
  });

  it('--vus defaults to --users, at most 100', () => {
    assert.equal(resolveShape('steady', { users: 10 }).vus, 10);
    assert.equal(resolveShape('steady', { users: 500 }).vus, 100);
    assert.equal(resolveShape('steady', { users: 10, vus: 7 }).vus, 7);
  });
});
