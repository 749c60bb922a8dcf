/// <reference types="k6" />
// The harness's own submit iteration (owned workers' bodies, tags, the body check, the request log) with the
// scenarios' k6 options and thresholds, at full speed, closed loop, for bench/harness.ts. Not a load shape: scenarios/ holds those.
// per-vu-iterations, as each VU sends only its own workers' forms (scenarios/lib/ownership.ts). The exec function is
// the scenarios' own `submit`, called by k6 as in a run; the last batch of each VU's request log (a few dozen
// lines) is not written here, as no scenario end comes to write it.
import * as actions from '../../scenarios/lib/actions.ts';
import { buildOptions, runEnv } from '../../scenarios/lib/params.ts';

export const options = {
  ...buildOptions('steady', runEnv()),
  scenarios: {
    max: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.BENCH_VUS ?? 16),
      iterations: Number(__ENV.BENCH_ITERATIONS_PER_VU ?? 1000),
      maxDuration: '10m',
      exec: 'submit',
      tags: { endpoint: 'receiver' },
    }, // as the scenarios' submission scenarios carry it (scenarios/lib/shapes.ts)
  },
};

export const submit = actions.submit;
