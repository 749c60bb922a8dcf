/// <reference types="k6" />
// The harness's own submit iteration (corpus lookup, base64 body, tags, checks, ack log) at full speed, closed
// loop, for bench/harness.ts. Not a load shape: scenarios/ holds those.
import { submit } from '../../scenarios/lib/actions.ts';

export const options = {
  // a fixed number of iterations (the corpus size): past the corpus the iterations would do nothing
  scenarios: { max: { executor: 'shared-iterations', vus: Number(__ENV.BENCH_VUS ?? 16), iterations: Number(__ENV.BENCH_ITERATIONS ?? 10000), maxDuration: '10m', exec: 'submit' } },
};

export { submit };
