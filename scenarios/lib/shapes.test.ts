import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptanceThreshold,
  breakSteps,
  corpusSubmissions,
  endpointsOf,
  extraVus,
  k6Scenarios,
  k6Thresholds,
  peakRate,
  plannedSeconds,
  plannedSubmissions,
  rateCeilingProblem,
  resolveShape,
  SCENARIO_NAMES,
} from './shapes.ts';

describe('load shapes', () => {
  it('submit-burst: baseline, a burst at factor x the base rate, recovery; open model', () => {
    const p = resolveShape('submit-burst', { rate: 4, baselineS: 10, burstS: 20, recoveryS: 10, burstFactor: 5, vus: 30 });
    const s = k6Scenarios('submit-burst', p).submissions as {
      executor: string;
      stages: { target: number; duration: string }[];
      maxVUs: number;
      timeUnit: string;
    };
    assert.equal(s.executor, 'ramping-arrival-rate');
    assert.equal(s.timeUnit, '100s');
    assert.deepEqual(
      s.stages.map((x) => [x.target / 100, x.duration]),
      [
        [4, '10s'],
        [20, '5s'],
        [20, '20s'],
        [4, '5s'],
        [4, '10s'],
      ],
    );
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
    assert.deepEqual(t.http_req_failed, ['rate<0.001', { threshold: 'rate<0.2', abortOnFail: true, delayAbortEval: '10s' }]);
    assert.equal(t.submit_accepted, undefined, 'held by the runner on the request log');
    assert.deepEqual(acceptanceThreshold(resolveShape('mixed-day', {})), {
      metric: 'submit_accepted',
      expression: 'rate>0.999',
      min: 0.999,
    });
    assert.deepEqual(t.checks, ['rate>0.999']);
    // submissions only: no k6 checks to hold a threshold on
    assert.equal(k6Thresholds('steady', resolveShape('steady', {})).checks, undefined);
  });

  it('mixed-day and soak are one scenario on one VU pool (every VU submits for the workers it owns), exports beside it', () => {
    for (const name of ['mixed-day', 'soak'] as const) {
      const p = resolveShape(name, { rate: 4, vus: 20, exportUsers: 0, apiClients: 0 });
      const sc = k6Scenarios(name, p);
      assert.deepEqual(Object.keys(sc), ['day']);
      assert.equal(sc.day!.exec, 'mixed');
      assert.equal(sc.day!.maxVUs, 20);
      // per 100 s: submissions plus restores plus searches
      assert.equal(sc.day!.rate, Math.round(4 * (1 + p.restoreRatio + p.searchRatio) * 100));
    }
    assert.equal(resolveShape('soak', {}).searchRatio, 0);
    // by default exports take a share of the day: their own web users and API client, out of the same users
    const day = resolveShape('mixed-day', {});
    assert.deepEqual(Object.keys(k6Scenarios('mixed-day', day)), ['day', 'exports', 'api']);
    assert.equal(day.vus + extraVus(day), 100);
    assert.deepEqual(Object.keys(k6Scenarios('soak', resolveShape('soak', {}))), ['day', 'exports']);
  });

  it('export-storm: submissions, web users exporting and API clients paging; thresholds on completion and pages', () => {
    const p = resolveShape('export-storm', { exportUsers: 6, exportIntervalS: 30, apiClients: 3, apiRate: 1.5 });
    const sc = k6Scenarios('export-storm', p) as Record<
      string,
      { exec: string; rate: number; maxVUs: number; timeUnit: string; gracefulStop: string }
    >;
    assert.deepEqual(Object.keys(sc), ['submissions', 'exports', 'api']);
    assert.equal(sc.exports!.exec, 'exportBrowser');
    assert.equal(sc.exports!.rate, 20); // 6 users / 30 s = 0.2/s, per 100 s
    assert.equal(sc.exports!.maxVUs, 6);
    assert.equal(sc.exports!.gracefulStop, '600s', 'an export under way may finish');
    assert.equal(sc.api!.rate, 150);
    assert.deepEqual(endpointsOf('export-storm', p), ['receiver', 'export', 'export_poll', 'export_download', 'api_form', 'api_case']);
    const t = k6Thresholds('export-storm', p);
    assert.deepEqual(t.export_completion, ['p(95)<60000']);
    assert.deepEqual(t['http_req_duration{endpoint:api_form}'], ['p(95)<3000']);
    assert.deepEqual(t['http_req_duration{endpoint:export_poll}'], ['p(95)<450']);
    // the submitting VUs send the corpus's share of the whole pool
    assert.equal(corpusSubmissions('export-storm', p), Math.ceil((plannedSubmissions('export-storm', p) * (p.vus + 9)) / p.vus));
  });

  it('--vus defaults to --users, at most 100', () => {
    assert.equal(resolveShape('steady', { users: 10 }).vus, 10);
    assert.equal(resolveShape('steady', { users: 500 }).vus, 100);
    assert.equal(resolveShape('steady', { users: 10, vus: 7 }).vus, 7);
  });

  it('--max-rate is a ceiling no scenario option can pass; ramp-to-break climbs to it', () => {
    assert.equal(peakRate('submit-burst', resolveShape('submit-burst', { rate: 4, burstFactor: 5 })), 20);
    assert.equal(
      peakRate('mixed-day', resolveShape('mixed-day', { rate: 10, restoreRatio: 0.2, searchRatio: 0.1, exportUsers: 0, apiClients: 0 })),
      13,
    );
    // exports and API pages run beside the day: added to it (2 exports every 120 s, 0.2 pages/s)
    assert.equal(
      peakRate(
        'mixed-day',
        resolveShape('mixed-day', {
          rate: 10,
          restoreRatio: 0.2,
          searchRatio: 0.1,
          exportUsers: 2,
          exportIntervalS: 120,
          apiClients: 1,
          apiRate: 0.2,
        }),
      ),
      13.22,
    );
    assert.equal(peakRate('restore-storm', resolveShape('restore-storm', { rate: 2, users: 600, windowS: 60 })), 10);
    assert.equal(rateCeilingProblem('submit-burst', resolveShape('submit-burst', { rate: 4, burstFactor: 5, maxRate: 20 })), undefined);
    assert.match(
      rateCeilingProblem('submit-burst', resolveShape('submit-burst', { rate: 4, burstFactor: 5, maxRate: 19 })) ?? '',
      /^submit-burst would ask 20 requests\/s at its peak, above --max-rate 19/,
    );
    assert.match(
      rateCeilingProblem('restore-storm', resolveShape('restore-storm', { rate: 2, users: 600, windowS: 60, maxRate: 5 })) ?? '',
      /ask 10 requests\/s/,
    );
    const ramp = resolveShape('ramp-to-break', { stepRate: 10, maxRate: 35 });
    assert.equal(peakRate('ramp-to-break', ramp), 30);
    assert.equal(rateCeilingProblem('ramp-to-break', ramp), undefined);
    for (const name of SCENARIO_NAMES)
      assert.equal(rateCeilingProblem(name, resolveShape(name, {})), undefined, `${name}: defaults fit under the default ceiling`);
  });

  it('every scenario stops early when requests fail in bulk (--abort-failed)', () => {
    for (const name of SCENARIO_NAMES) {
      const t = k6Thresholds(name, resolveShape(name, { abortFailedRate: 0.3 }));
      const aborts = (t.http_req_failed as { abortOnFail?: boolean; threshold?: string }[]).filter((x) => x.abortOnFail);
      assert.ok(aborts.length >= 1, name);
      if (name !== 'ramp-to-break') assert.equal(aborts[0]!.threshold, 'rate<0.3');
    }
  });
});
