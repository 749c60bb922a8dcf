/// <reference types="k6" />
// The least a k6 script can do to post forms: a sample of the corpus's bodies, loaded once, posted in turn with
// the headers a submission carries (credentials, content type, X-OpenRosa-Version); no checks, no tags, no log.
import http from 'k6/http';

const bodies: ArrayBuffer[] = [];
for (let i = 0; i < Number(__ENV.BENCH_BODIES); i++) bodies.push(open(`${__ENV.BENCH_BODY_DIR}/b${i}.bin`, 'b'));
const types = JSON.parse(open(`${__ENV.BENCH_BODY_DIR}/types.json`)) as string[];

export const options = {
  scenarios: {
    max: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.BENCH_VUS ?? 16),
      iterations: Number(__ENV.BENCH_ITERATIONS_PER_VU ?? 1000),
      maxDuration: '10m',
    },
  },
};

let i = __VU;
export default function (): void {
  const k = i++ % bodies.length;
  http.post(__ENV.BENCH_URL!, bodies[k]!, {
    headers: { 'Content-Type': types[k]!, Authorization: 'Basic bWluOmltYWw=', 'X-OpenRosa-Version': '3.0' },
  });
}
