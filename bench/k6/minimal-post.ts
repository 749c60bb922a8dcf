/// <reference types="k6" />
// The least a k6 script can do to post a form: the same bytes every time, no checks, no tags.
import http from 'k6/http';

const body = open(__ENV.BENCH_BODY!, 'b');
const headers = { 'Content-Type': __ENV.BENCH_CONTENT_TYPE!, Authorization: 'Basic bWluOmltYWw=' };

export const options = {
  scenarios: { max: { executor: 'shared-iterations', vus: Number(__ENV.BENCH_VUS ?? 16), iterations: Number(__ENV.BENCH_ITERATIONS ?? 10000), maxDuration: '10m' } },
};

export default function (): void {
  http.post(__ENV.BENCH_URL!, body, { headers });
}
