// summary.json: the run's verdict (runner/outcome.ts and runner/merge.ts write it); and k6-summary.json, k6's
// own --summary-export.

/** ramp-to-break: what the target achieved at one step of the arrival rate. */
export interface StepResult {
  rate: number;
  startSecond: number;
  requests: number;
  achievedPerSec: number;
  failedRate: number;
  p95: number;
  dropped: number;
  sustained: boolean;
}

export interface EndpointStats {
  count: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface RunSummary {
  scenario: string;
  target: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  requests: number;
  failedRequests: number;
  failedRate: number;
  acknowledged: number;
  acknowledgedPerSec: number;
  /** requests k6 counted that have no line in the request log (k6 stopped before a VU wrote its last batch) */
  requestsNotLogged?: number;
  droppedIterations: number;
  corpusExhausted: number;
  endpoints: Record<string, EndpointStats>;
  thresholds: { metric: string; expression: string; ok: boolean }[];
  thresholdsPassed: boolean;
  liveness: { followed: number; searchable: number; neverSearchable: number; p50Ms?: number; p95Ms?: number; maxMs?: number };
  rampToBreak?: { steps: StepResult[]; highestSustainedRate: number | null };
  k6ExitCode: number;
  interrupted: boolean;
  outcome: 'passed' | 'thresholds-failed' | 'interrupted' | 'failed';
  message: string;
}

export interface K6Metric {
  count?: number;
  rate?: number;
  value?: number;
  passes?: number;
  fails?: number;
  thresholds?: Record<string, boolean>;
  [k: string]: unknown;
}

export interface K6SummaryExport {
  metrics: Record<string, K6Metric>;
}
