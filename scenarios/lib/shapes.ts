// The load shapes: every scenario's defaults and the k6 `options.scenarios` it runs, as pure data, so the
// same code builds the k6 options (inside k6) and the run manifest (in Node). Open model everywhere:
// arrival-rate executors, so a slow target shows up as latency and dropped iterations, never as less load.

export const SCENARIO_NAMES = ['submit-burst', 'steady', 'restore-storm', 'mixed-day', 'soak', 'ramp-to-break', 'export-storm'] as const;
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
  // exports: web users (the exports' VU pool), each asking for an export every exportIntervalS and polling it every
  // exportPollS as the export page does; API clients (their VU pool) paging the form and case lists at apiRate pages/s
  exportUsers: number;
  exportIntervalS: number;
  exportPollS: number;
  /** an export not ready this long after it was asked for is given up (a failed export) */
  exportTimeoutS: number;
  apiClients: number;
  apiRate: number;
  apiLimit: number;
  // thresholds (defaults from OpenCRVS's k6 suite: reads p95 < 450 ms, writes p95 < 900 ms, failures < 0.1 %)
  writeP95Ms: number;
  readP95Ms: number;
  failedRate: number;
  /** request to downloaded file, p95 */
  exportP95Ms: number;
  /** one data API page, p95 */
  apiP95Ms: number;
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
  exportUsers: 0,
  exportIntervalS: 60,
  exportPollS: 2,
  exportTimeoutS: 600,
  apiClients: 0,
  apiRate: 1,
  apiLimit: 1000,
  writeP95Ms: 900,
  readP95Ms: 450,
  failedRate: 0.001,
  exportP95Ms: 60_000,
  apiP95Ms: 3000,
  abortFailedRate: 0.2,
};

/** Scenario-specific defaults on top of DEFAULT_SHAPE. */
export const SCENARIO_DEFAULTS: Record<ScenarioName, Partial<ShapeParams>> = {
  'submit-burst': {},
  steady: { durationS: 120 },
  'restore-storm': { rate: 10 },
  // exports take a share of the day: two web users exporting every 2 min, one API client
  'mixed-day': { durationS: 300, exportUsers: 2, exportIntervalS: 120, apiClients: 1, apiRate: 0.2 },
  soak: { rate: 3, durationS: 2 * 3600, restoreRatio: 0.1, searchRatio: 0, exportUsers: 1, exportIntervalS: 900 },
  'ramp-to-break': { readP95Ms: 1000, writeP95Ms: 1000, failedRate: 0.01 },
  'export-storm': { rate: 5, durationS: 180, vus: 20, exportUsers: 10, exportIntervalS: 20, apiClients: 4, apiRate: 2 },
};

export const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  'submit-burst': "quiet baseline, then a burst at several times the baseline (a district's morning upload), then recovery",
  steady: 'constant arrival rate of submissions',
  'restore-storm': 'a short prefill of submissions, then every worker syncs inside a window (a first restore and an incremental one)',
  'mixed-day': "submissions, restores and case search together in a day's proportions",
  soak: 'hours at a modest rate of submissions and restores',
  'ramp-to-break': 'steps the submission rate up until a threshold breaks; reports the highest rate sustained',
  'export-storm':
    'web users ask for case and form exports and poll them as browsers do, while API clients page the form and case lists and submissions go on',
};

export function resolveShape(name: ScenarioName, overrides: Partial<ShapeParams>): ShapeParams {
  const p: ShapeParams = { ...DEFAULT_SHAPE, ...SCENARIO_DEFAULTS[name] };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (p as unknown as Record<string, number>)[k] = v;
  // the exports' and API clients' VUs come out of the same users (every VU of the pool owns mobile workers)
  if (overrides.vus === undefined) p.vus = Math.max(1, Math.min(p.vus, p.users - extraVus(p)));
  return p;
}

/** VUs beyond the submitting ones: the web users' and the API clients'. */
export function extraVus(p: ShapeParams): number {
  return (p.exportUsers > 0 ? Math.round(p.exportUsers) : 0) + (p.apiClients > 0 && p.apiRate > 0 ? Math.round(p.apiClients) : 0);
}

/**
 * Submissions the corpus must hold for: every VU of the pool owns workers, but only the submitting VUs send, so
 * each of them sends (and needs) more by the pool's share of the others.
 */
export function corpusSubmissions(name: ScenarioName, p: ShapeParams): number {
  const vus = Math.max(1, Math.round(p.vus));
  return Math.ceil((plannedSubmissions(name, p) * (vus + extraVus(p))) / vus);
}

/** The export and API scenarios a shape runs beside its own (open model too: slow exports show as dropped iterations). */
function exportScenarios(p: ShapeParams, durationS: number): Record<string, K6Scenario> {
  const out: Record<string, K6Scenario> = {};
  if (p.exportUsers > 0)
    out.exports = {
      ...arrival(p.exportUsers / p.exportIntervalS, durationS, Math.round(p.exportUsers), 'exportBrowser'),
      gracefulStop: `${Math.round(p.exportTimeoutS)}s`,
    };
  if (p.apiClients > 0 && p.apiRate > 0) out.api = arrival(p.apiRate, durationS, Math.round(p.apiClients), 'apiPage');
  return out;
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
      return { day: arrival(p.rate * (1 + p.restoreRatio + p.searchRatio), p.durationS, vus, 'mixed'), ...exportScenarios(p, p.durationS) };
    case 'export-storm':
      return { submissions: arrival(p.rate, p.durationS, vus, 'submit'), ...exportScenarios(p, p.durationS) };
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

export type Endpoint = 'receiver' | 'restore' | 'search' | 'export' | 'export_poll' | 'export_download' | 'api_form' | 'api_case';

/** Which endpoints a scenario sends to (thresholds only for those). */
export function endpointsOf(name: ScenarioName, p: ShapeParams = resolveShape(name, {})): Endpoint[] {
  const extra: Endpoint[] = [
    ...(p.exportUsers > 0 ? (['export', 'export_poll', 'export_download'] as const) : []),
    ...(p.apiClients > 0 && p.apiRate > 0 ? (['api_form', 'api_case'] as const) : []),
  ];
  switch (name) {
    case 'restore-storm':
      return ['receiver', 'restore'];
    case 'mixed-day':
      return ['receiver', 'restore', 'search', ...extra];
    case 'soak':
      return ['receiver', 'restore', ...extra];
    case 'export-storm':
      return ['receiver', ...extra];
    default:
      return ['receiver'];
  }
}

/** Per endpoint: the p95 limit (ms) its requests are held to. */
function endpointLimit(e: Endpoint, p: ShapeParams): number {
  if (e === 'receiver') return p.writeP95Ms;
  if (e === 'api_form' || e === 'api_case') return p.apiP95Ms;
  // a download streams the whole file: held to the export's completion limit, not a read's
  if (e === 'export_download') return p.exportP95Ms;
  return p.readP95Ms;
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
  const endpoints = endpointsOf(name, p);
  if (endpoints.some((e) => e !== 'receiver')) t.checks = [acceptanceThreshold(p).expression];
  // an export's completion (asked for -> file downloaded) is a trend of its own: one sample per export
  if (p.exportUsers > 0) t.export_completion = [`p(95)<${p.exportP95Ms}`];
  for (const e of endpoints) {
    const limit = endpointLimit(e, p);
    t[`http_req_duration{endpoint:${e}}`] = [
      abort ? { threshold: `p(95)<${limit}`, abortOnFail: true, delayAbortEval: '10s' } : `p(95)<${limit}`,
    ];
  }
  return t;
}

/** Submissions answered with HQ's success, as a share of all submissions: held by the runner on the request log. */
export function acceptanceThreshold(p: ShapeParams): { metric: string; expression: string; min: number } {
  const min = 1 - Math.max(p.failedRate, 0.001);
  return { metric: 'submit_accepted', expression: `rate>${min}`, min };
}

/**
 * The most iterations per second the shape asks for at any moment: the k6 scenarios running at once added up (an
 * export's polls and download are one iteration), each at its highest rate.
 */
export function peakRate(name: ScenarioName, p: ShapeParams): number {
  const scenarios = k6Scenarios(name, p);
  const spans = scenarioSpans(name, p);
  // rates are whole numbers per 100 s: added up as they are, divided once
  const highest = (sc: K6Scenario) => {
    const stages = (sc.stages as { target: number }[] | undefined) ?? [];
    return Math.max(Number(sc.rate ?? 0), Number(sc.startRate ?? 0), ...stages.map((st) => st.target));
  };
  let peak = 0;
  for (const s of Object.values(spans)) {
    const together = Object.entries(spans).filter(([, o]) => o.startS < s.endS && s.startS < o.endS);
    peak = Math.max(
      peak,
      together.reduce((sum, [k]) => sum + highest(scenarios[k]!), 0),
    );
  }
  return peak / 100;
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
