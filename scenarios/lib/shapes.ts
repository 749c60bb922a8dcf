// The load shapes: every scenario's defaults and the k6 `options.scenarios` it runs, as pure data, so the
// same code builds the k6 options (inside k6) and the run manifest (in Node). Open model everywhere:
// arrival-rate executors, so a slow target shows up as latency and dropped iterations, never as less load.

export const SCENARIO_NAMES = ['submit-burst', 'steady', 'restore-storm', 'mixed-day', 'soak', 'ramp-to-break'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(s: string): s is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(s);
}

/** Every figure a scenario uses; each can be overridden from the command line. */
export interface ShapeParams {
  /** Submissions per second at the base rate. */
  rate: number;
  /** Length of the main phase in seconds (scenario-specific meaning, see describeShape). */
  durationS: number;
  /**
   * Pre-allocated (and maximum) VUs: the concurrency available to the open model. A VU sends for the workers it
   * owns, one form at a time each, so at most `users` (default: `users`, up to 100).
   */
  vus: number;
  users: number;
  // submit-burst
  baselineS: number;
  burstS: number;
  recoveryS: number;
  burstFactor: number;
  // restore-storm
  prefillS: number;
  windowS: number;
  // mixed-day: restores and searches per submission
  restoreRatio: number;
  searchRatio: number;
  // ramp-to-break
  stepRate: number;
  stepS: number;
  /**
   * The ceiling: the most requests per second any phase of any scenario may ask for. A shape whose peak is above it
   * is refused (rateCeilingProblem); ramp-to-break steps up to it.
   */
  maxRate: number;
  // thresholds (defaults from OpenCRVS's k6 suite: reads p95 < 450 ms, writes p95 < 900 ms, failures < 0.1 %)
  writeP95Ms: number;
  readP95Ms: number;
  failedRate: number;
  /** k6 stops the run early (after 10 s) once this share of requests has failed: a broken run stops loading a real deployment */
  abortFailedRate: number;
}

export const DEFAULT_SHAPE: ShapeParams = {
  rate: 10,
  durationS: 120,
  vus: 100,
  users: 100,
  baselineS: 30,
  burstS: 60,
  recoveryS: 30,
  burstFactor: 5,
  prefillS: 30,
  windowS: 60,
  restoreRatio: 0.2,
  searchRatio: 0.1,
  stepRate: 10,
  stepS: 30,
  maxRate: 300,
  writeP95Ms: 900,
  readP95Ms: 450,
  failedRate: 0.001,
  abortFailedRate: 0.2,
};

/** Scenario-specific defaults on top of DEFAULT_SHAPE. */
export const SCENARIO_DEFAULTS: Record<ScenarioName, Partial<ShapeParams>> = {
  'submit-burst': {},
  steady: { durationS: 120 },
  'restore-storm': { rate: 10 },
  'mixed-day': { durationS: 300 },
  soak: { rate: 3, durationS: 2 * 3600, restoreRatio: 0.1, searchRatio: 0 },
  'ramp-to-break': { readP95Ms: 1000, writeP95Ms: 1000, failedRate: 0.01 },
};

export const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  'submit-burst': 'quiet baseline, then a burst at several times the baseline (a district\'s morning upload), then recovery',
  steady: 'constant arrival rate of submissions',
  'restore-storm': 'a short prefill of submissions, then every worker syncs inside a window (a first restore and an incremental one)',
  'mixed-day': 'submissions, restores and case search together in a day\'s proportions',
  soak: 'hours at a modest rate of submissions and restores',
  'ramp-to-break': 'steps the submission rate up until a threshold breaks; reports the highest rate sustained',
};

export function resolveShape(name: ScenarioName, overrides: Partial<ShapeParams>): ShapeParams {
  const p: ShapeParams = { ...DEFAULT_SHAPE, ...SCENARIO_DEFAULTS[name] };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (p as unknown as Record<string, number>)[k] = v;
  if (overrides.vus === undefined) p.vus = Math.min(p.vus, p.users);
  return p;
}

type K6Scenario = Record<string, unknown>;

function arrival(rate: number, durationS: number, vus: number, exec: string, startS = 0): K6Scenario {
  return {
    executor: 'constant-arrival-rate',
    rate: Math.max(1, Math.round(rate * 100)),
    timeUnit: '100s', // rate is per 100 s so fractional rates per second stay exact
    duration: `${Math.max(1, Math.round(durationS))}s`,
    preAllocatedVUs: vus,
    maxVUs: vus,
    exec,
    startTime: `${Math.round(startS)}s`,
    gracefulStop: '30s',
  };
}

/** Ramp stages for ramp-to-break: hold each step for stepS, up to maxRate. */
export function breakSteps(p: ShapeParams): number[] {
  const steps: number[] = [];
  for (let r = p.stepRate; r <= p.maxRate + 1e-9; r += p.stepRate) steps.push(r);
  return steps;
}

export function k6Scenarios(name: ScenarioName, p: ShapeParams): Record<string, K6Scenario> {
  const scenarios = shapeScenarios(name, p);
  // A scenario that only submits carries its requests' endpoint tag itself: a tag given with every request costs k6
  // its parsing every time (scenarios/lib/actions.ts leaves it out of those requests).
  for (const sc of Object.values(scenarios)) if (sc.exec === 'submit') sc.tags = { endpoint: 'receiver' };
  return scenarios;
}

/** Whether submissions are tagged with their endpoint by their k6 scenario (else by each request). */
export function submitEndpointFromScenario(name: ScenarioName, p: ShapeParams): boolean {
  return Object.values(k6Scenarios(name, p)).every((sc) => sc.exec !== 'mixed');
}

function shapeScenarios(name: ScenarioName, p: ShapeParams): Record<string, K6Scenario> {
  const vus = Math.max(1, Math.round(p.vus));
  switch (name) {
    case 'steady':
      return { submissions: arrival(p.rate, p.durationS, vus, 'submit') };
    case 'submit-burst': {
      const burst = p.rate * p.burstFactor;
      return {
        submissions: {
          executor: 'ramping-arrival-rate',
          startRate: Math.round(p.rate * 100),
          timeUnit: '100s',
          preAllocatedVUs: vus,
          maxVUs: vus,
          exec: 'submit',
          gracefulStop: '30s',
          stages: [
            { target: Math.round(p.rate * 100), duration: `${p.baselineS}s` },
            { target: Math.round(burst * 100), duration: '5s' },
            { target: Math.round(burst * 100), duration: `${p.burstS}s` },
            { target: Math.round(p.rate * 100), duration: '5s' },
            { target: Math.round(p.rate * 100), duration: `${p.recoveryS}s` },
          ],
        },
      };
    }
    case 'restore-storm':
      // The prefill's graceful stop ends as the storm starts, so k6 needs one pool of `vus`, not two.
      return {
        prefill: { ...arrival(p.rate, p.prefillS, vus, 'submit'), gracefulStop: '5s' },
        storm: arrival(p.users / p.windowS, p.windowS, vus, 'restoreStorm', p.prefillS + 5),
      };
    // One scenario for all three kinds: k6 hands VUs to concurrent scenarios from one pool in no set order, and
    // every VU of the pool must submit for the workers it owns (scenarios/lib/ownership.ts).
    case 'mixed-day':
    case 'soak':
      return { day: arrival(p.rate * (1 + p.restoreRatio + p.searchRatio), p.durationS, vus, 'mixed') };
    case 'ramp-to-break': {
      const steps = breakSteps(p);
      return {
        submissions: {
          executor: 'ramping-arrival-rate',
          startRate: Math.round(steps[0]! * 100),
          timeUnit: '100s',
          preAllocatedVUs: vus,
          maxVUs: vus,
          exec: 'submit',
          gracefulStop: '30s',
          stages: steps.flatMap((r) => [
            { target: Math.round(r * 100), duration: '2s' },
            { target: Math.round(r * 100), duration: `${Math.max(1, p.stepS - 2)}s` },
          ]),
        },
      };
    }
  }
}

const seconds = (d: unknown): number => (typeof d === 'string' ? Number(d.replace(/s$/, '')) : 0);

/**
 * When each k6 scenario of a shape starts and ends (its stages or duration, without graceful stop), in seconds
 * from the start of the test.
 */
export function scenarioSpans(name: ScenarioName, p: ShapeParams): Record<string, { startS: number; endS: number }> {
  const spans: Record<string, { startS: number; endS: number }> = {};
  for (const [k, sc] of Object.entries(k6Scenarios(name, p))) {
    const startS = seconds(sc.startTime);
    const stages = sc.stages as { duration: string }[] | undefined;
    spans[k] = { startS, endS: startS + (stages ? stages.reduce((a, st) => a + seconds(st.duration), 0) : seconds(sc.duration)) };
  }
  return spans;
}

/** Which endpoints a scenario sends to (thresholds only for those). */
export function endpointsOf(name: ScenarioName): ('receiver' | 'restore' | 'search')[] {
  switch (name) {
    case 'restore-storm':
      return ['receiver', 'restore'];
    case 'mixed-day':
      return ['receiver', 'restore', 'search'];
    case 'soak':
      return ['receiver', 'restore'];
    default:
      return ['receiver'];
  }
}

/** The k6 threshold that stops a run early once the share of failed requests passes --abort-failed. */
export function abortThreshold(p: ShapeParams): { threshold: string; abortOnFail: true; delayAbortEval: string } {
  return { threshold: `rate<${p.abortFailedRate}`, abortOnFail: true, delayAbortEval: '10s' };
}

export function k6Thresholds(name: ScenarioName, p: ShapeParams): Record<string, unknown[]> {
  const abort = name === 'ramp-to-break';
  const t: Record<string, unknown[]> = {
    http_req_failed: [abort ? { threshold: `rate<${p.failedRate}`, abortOnFail: true, delayAbortEval: '10s' } : `rate<${p.failedRate}`],
  };
  // every scenario stops early when requests fail in bulk (ramp-to-break already stops at --max-failed)
  if (!abort || p.abortFailedRate < p.failedRate) t.http_req_failed!.push(abortThreshold(p));
  // restores and searches are checked by k6 checks: only where they are sent. Submissions' answers are checked into
  // the request log, and acceptanceThreshold is held by the runner on it (a k6 metric sample per submission costs).
  if (endpointsOf(name).some((e) => e !== 'receiver')) t.checks = [acceptanceThreshold(p).expression];
  for (const e of endpointsOf(name)) {
    const limit = e === 'receiver' ? p.writeP95Ms : p.readP95Ms;
    t[`http_req_duration{endpoint:${e}}`] = [abort ? { threshold: `p(95)<${limit}`, abortOnFail: true, delayAbortEval: '10s' } : `p(95)<${limit}`];
  }
  return t;
}

/** Submissions answered with HQ's success, as a share of all submissions: held by the runner on the request log. */
export function acceptanceThreshold(p: ShapeParams): { metric: string; expression: string; min: number } {
  const min = 1 - Math.max(p.failedRate, 0.001);
  return { metric: 'submit_accepted', expression: `rate>${min}`, min };
}

/** The most requests per second any phase of the shape asks for (its k6 scenarios run one after another). */
export function peakRate(name: ScenarioName, p: ShapeParams): number {
  let peak = 0;
  for (const sc of Object.values(k6Scenarios(name, p))) {
    const stages = (sc.stages as { target: number }[] | undefined) ?? [];
    peak = Math.max(peak, Number(sc.rate ?? 0), Number(sc.startRate ?? 0), ...stages.map((st) => st.target));
  }
  return peak / 100; // rates are per 100 s
}

/** Why the shape asks more of the target than --max-rate allows (undefined when it does not). */
export function rateCeilingProblem(name: ScenarioName, p: ShapeParams): string | undefined {
  const peak = peakRate(name, p);
  if (peak <= p.maxRate + 1e-9) return undefined;
  return `${name} would ask ${+peak.toFixed(2)} requests/s at its peak, above --max-rate ${p.maxRate}: lower the rate options or raise --max-rate on purpose`;
}

/** Seconds the scenario runs (without graceful stop), for progress and corpus sizing. */
export function plannedSeconds(name: ScenarioName, p: ShapeParams): number {
  switch (name) {
    case 'submit-burst':
      return p.baselineS + 5 + p.burstS + 5 + p.recoveryS;
    case 'restore-storm':
      return p.prefillS + 5 + p.windowS;
    case 'ramp-to-break':
      return breakSteps(p).length * p.stepS;
    default:
      return p.durationS;
  }
}

/** The most submissions the scenario can ask for: the corpus must hold at least this many. */
export function plannedSubmissions(name: ScenarioName, p: ShapeParams): number {
  switch (name) {
    case 'submit-burst':
      return Math.ceil(p.rate * (p.baselineS + p.recoveryS + 5) + p.rate * p.burstFactor * (p.burstS + 5) + 5);
    case 'restore-storm':
      return Math.ceil(p.rate * p.prefillS + 5);
    case 'ramp-to-break':
      return Math.ceil(breakSteps(p).reduce((s, r) => s + r * p.stepS, 0) + 5);
    default:
      return Math.ceil(p.rate * p.durationS + 5);
  }
}
