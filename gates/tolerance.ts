// Per-metric tolerances: how far a figure may move in its worse direction before it is a regression.
// A move is a regression only when it exceeds BOTH the relative tolerance (percent of the baseline) and the
// absolute floor (in the metric's unit), so tiny figures (a 10 ms p50, zero errors) do not flap on noise.
import { UserError } from '../core/errors.ts';

export interface Tolerance {
  /** Allowed change in the worse direction, in percent of the baseline. */
  pct: number;
  /** Allowed change in the metric's own unit (ms, s, messages, per_s, ratio) below which nothing regresses. */
  abs: number;
}

/** A pattern (metric id, `*` glob, or a dotted prefix such as `latency`) and its tolerance. */
export interface ToleranceRule {
  pattern: string;
  tolerance: Tolerance;
}

/**
 * Defaults. Measured with bench/gate-noise.ts (4 identical 30 s steady runs at 5/s on a shared 2-CPU machine,
 * each gated against the first): p50 moved up to 2 ms, p95 up to 25 ms, p99 up to 43 ms (a p99 of 150
 * requests is one or two of them), pillow offset lag up to 51 messages, liveness p50 up to 80 ms; throughput
 * not at all (an open model keeps the rate unless the target cannot). The bands sit above that noise.
 */
export const DEFAULT_TOLERANCES: ToleranceRule[] = [
  { pattern: 'throughput.acknowledged_per_s', tolerance: { pct: 10, abs: 0.2 } },
  { pattern: 'latency.*.p50', tolerance: { pct: 30, abs: 15 } },
  { pattern: 'latency.*.p95', tolerance: { pct: 50, abs: 40 } },
  { pattern: 'latency.*.p99', tolerance: { pct: 100, abs: 100 } },
  { pattern: 'error_rate', tolerance: { pct: 100, abs: 0.005 } },
  { pattern: 'pillow.*.offset_lag_max', tolerance: { pct: 100, abs: 200 } },
  { pattern: 'pillow.*.time_lag_max_s', tolerance: { pct: 100, abs: 5 } },
  { pattern: 'liveness.p50_ms', tolerance: { pct: 50, abs: 1000 } },
  { pattern: 'liveness.p95_ms', tolerance: { pct: 50, abs: 2000 } },
  { pattern: 'liveness.never_searchable_rate', tolerance: { pct: 0, abs: 0.05 } },
];

const FALLBACK: Tolerance = { pct: 25, abs: 0 };

function patternMatches(pattern: string, id: string): boolean {
  if (pattern === id) return true;
  if (pattern.includes('*')) {
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^.]*')}$`,
    );
    return re.test(id);
  }
  return id.startsWith(`${pattern}.`);
}

/** How specific a pattern is: an exact id beats a glob, a glob beats a prefix; longer beats shorter. */
function specificity(pattern: string, id: string): number {
  if (pattern === id) return 1e6;
  return (pattern.includes('*') ? 1e4 : 0) + pattern.replace(/\*/g, '').length;
}

function bestRule(rules: ToleranceRule[], id: string): ToleranceRule | undefined {
  let best: ToleranceRule | undefined;
  for (const r of rules) {
    if (!patternMatches(r.pattern, id)) continue;
    if (!best || specificity(r.pattern, id) > specificity(best.pattern, id)) best = r;
  }
  return best;
}

/**
 * The tolerance for one metric: the command line's rules over the baseline's over the defaults. A rule that
 * sets only a percentage keeps the absolute floor of the level below it.
 */
export function toleranceFor(id: string, levels: { cli?: ToleranceRule[]; baseline?: ToleranceRule[] }): Tolerance & { source: string } {
  const base = bestRule(DEFAULT_TOLERANCES, id)?.tolerance ?? FALLBACK;
  let out: Tolerance & { source: string } = { ...base, source: 'default' };
  for (const [name, rules] of [
    ['baseline', levels.baseline],
    ['--tolerance', levels.cli],
  ] as const) {
    const r = rules && bestRule(rules, id);
    if (r) out = { pct: r.tolerance.pct, abs: Number.isNaN(r.tolerance.abs) ? out.abs : r.tolerance.abs, source: `${name} ${r.pattern}` };
  }
  return out;
}

/**
 * Parses `latency.*.p95=50,error_rate=200:0.01,throughput=5%`: pattern=PCT[:ABS]. A rule without ABS keeps
 * the absolute floor it would otherwise have (NaN here, resolved in toleranceFor).
 */
export function parseTolerances(spec: string | string[] | undefined): ToleranceRule[] {
  if (!spec) return [];
  const parts = (Array.isArray(spec) ? spec : [spec])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.map((part) => {
    const m = /^([A-Za-z0-9_.*-]+)=(\d+(?:\.\d+)?)%?(?::(\d+(?:\.\d+)?))?$/.exec(part);
    if (!m)
      throw new UserError(`bad tolerance "${part}": expected metric=percent[:absolute], e.g. latency.*.p95=50 or error_rate=100:0.01`);
    return { pattern: m[1]!, tolerance: { pct: Number(m[2]), abs: m[3] === undefined ? Number.NaN : Number(m[3]) } };
  });
}

export function formatTolerance(t: Tolerance, unitText: (v: number) => string): string {
  return `${t.pct} %${t.abs ? ` and ${unitText(t.abs)}` : ''}`;
}
