/// <reference types="k6" />
// The harness's own submit iteration (owned workers' bodies, tags, the body check, the ack log) with the scenarios'
// k6 options, at full speed, closed loop, for bench/harness.ts. Not a load shape: scenarios/ holds those.
// per-vu-iterations, as each VU sends only its own workers' forms (scenarios/lib/ownership.ts).
import { submit } from '../../scenarios/lib/actions.ts';
import { buildOptions, runEnv } from '../../scenarios/lib/params.ts';

export const options = {
  ...buildOptions('steady', runEnv()),
  thresholds: {},
  scenarios: {
    max: { executor: 'per-vu-iterations', vus: Number(__ENV.BENCH_VUS ?? 16), iterations: Number(__ENV.BENCH_ITERATIONS_PER_VU ?? 1000), maxDuration: '10m', exec: 'submit' },
  },
};

export { submit };
