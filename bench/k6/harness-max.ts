/// <reference types="k6" />
// The harness's own submit iteration (corpus lookup, base64 body, tags, checks, ack log) at full speed, closed
// loop, for bench/harness.ts. Not a load shape: scenarios/ holds those.
import { submit } from '../../scenarios/lib/actions.ts';

export const options = {
  scenarios: { max: { executor: 'constant-vus', vus: Number(__ENV.BENCH_VUS ?? 16), duration: __ENV.BENCH_DURATION ?? '15s', exec: 'submit' } },
};

export { submit };
