/// <reference types="k6" />
// What `capacity run` hands to the k6 script (one JSON environment variable), and the options built from it.
import { k6Scenarios, k6Thresholds, resolveShape, type ScenarioName, type ShapeParams } from './shapes.ts';

export interface RunEnv {
  scenario: ScenarioName;
  baseUrl: string;
  domain: string;
  appId?: string;
  /** Absolute path of the corpus folder (manifest.json, users.json, forms/). */
  corpusDir: string;
  /** The mobile workers' logins (default <corpusDir>/users.json; a private file for real targets). */
  usersFile?: string;
  shape: Partial<ShapeParams>;
  /** Mark every Nth acknowledged form of a VU in the request log for the liveness follower (0: none). */
  followEvery?: number;
  /**
   * Which VU sends which worker (scenarios/lib/ownership.ts): load generators, this generator's VU pool (k6's
   * maxVUs; 0 while `k6 inspect` plans it) and, when the runner knows it, this generator's segment (0-based).
   */
  ownership?: { segments: number; pool: number; segment?: number };
  /** The web user that asks for exports (basic auth, as a browser session) and calls the data API (its API key). */
  webUser?: { username: string; password: string; apiKey: string };
}

export function runEnv(): RunEnv {
  const raw = __ENV.CAPACITY_RUN;
  if (!raw) throw new Error('CAPACITY_RUN is not set: run scenarios with `capacity run <scenario>`');
  return JSON.parse(raw) as RunEnv;
}

export function buildOptions(name: ScenarioName, env: RunEnv): Record<string, unknown> {
  const shape = resolveShape(name, env.shape);
  return {
    scenarios: k6Scenarios(name, shape),
    thresholds: k6Thresholds(name, shape),
    discardResponseBodies: false,
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
    userAgent: 'capacity (k6)',
    // The tags thresholds and k6's summary need (endpoint and form are the scenarios' own): no url, name, proto or
    // TLS tags on every sample, each of which k6 builds into every sample's tag set.
    systemTags: ['status', 'method', 'expected_response', 'check', 'error', 'error_code', 'scenario'],
    noConnectionReuse: false,
    insecureSkipTLSVerify: false,
  };
}
