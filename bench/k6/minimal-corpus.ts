/// <reference types="k6" />
// The least a k6 script can do to post every body of the corpus: each VU loads its own workers' bodies (worker w
// goes to VU w mod VUs, as the harness's VUs own theirs) and posts them in turn with the headers a submission
// carries; no checks, no tags, no log. For bench/harness.ts.
import http from 'k6/http';

const dir = __ENV.BENCH_CORPUS_BODIES!;
const users = Number(__ENV.BENCH_USERS);
const vus = Number(__ENV.BENCH_VUS ?? 16);
const bodies: ArrayBuffer[] = [];
const types: string[] = [];
for (let w = 0; w < users; w++) {
  // VU 0 (k6's first init pass) opens every file, so that the VUs may open theirs
  if (__VU !== 0 && w % vus !== __VU - 1) continue;
  const pack = open(`${dir}/w${w}.bin`, 'b');
  const index = JSON.parse(open(`${dir}/w${w}.json`)) as { lengths: number[]; types: string[] };
  if (__VU === 0) continue;
  let at = 0;
  index.lengths.forEach((len, k) => {
    bodies.push(pack.slice(at, at + len));
    types.push(index.types[k]!);
    at += len;
  });
}

export const options = {
  scenarios: { max: { executor: 'per-vu-iterations', vus, iterations: Number(__ENV.BENCH_ITERATIONS_PER_VU ?? 1000), maxDuration: '10m' } },
};

let i = 0;
export default function (): void {
  const k = i++ % bodies.length;
  http.post(__ENV.BENCH_URL!, bodies[k]!, {
    headers: { 'Content-Type': types[k]!, Authorization: 'Basic bWluOmltYWw=', 'X-OpenRosa-Version': '3.0' },
  });
}
