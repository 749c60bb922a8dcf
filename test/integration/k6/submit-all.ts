/// <reference types="k6" />
// Every VU submits all of its workers' corpus forms once, through the scenarios' own submit (the JavaScript path,
// which stock k6 runs), and writes its request log at its last. For test/integration/native-submit.test.ts,
// which compares this with submit-all-native.ts.
import exec from 'k6/execution';
import * as actions from '../../../scenarios/lib/actions.ts';
import { buildOptions, runEnv } from '../../../scenarios/lib/params.ts';

const vus = Number(__ENV.TEST_VUS);
const perVu = Number(__ENV.TEST_PER_VU);

export const options = {
  ...buildOptions('steady', runEnv()),
  scenarios: {
    all: { executor: 'per-vu-iterations', vus, iterations: perVu, maxDuration: '2m', exec: 'submitAll', tags: { endpoint: 'receiver' } },
  },
};

export function submitAll(): void {
  actions.submit();
  if (exec.vu.iterationInScenario === perVu - 1) actions.flushRequestLog();
}
