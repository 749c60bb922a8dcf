// Compares a run's figures with a baseline's, direction-aware: a higher latency, error rate, lag or liveness is
// a regression, a lower one an improvement; for throughput the other way round.
import type { Baseline } from './baseline.ts';
import { currentEnvironment, formatValue, type Environment, type MeasuredRun, type MetricValue, type RunParameters } from './metrics.ts';
import { formatTolerance, toleranceFor, type Tolerance, type ToleranceRule } from './tolerance.ts';

export type CheckStatus = 'pass' | 'improved' | 'regressed' | 'missing' | 'new';

export interface MetricCheck {
  id: string;
  unit: MetricValue['unit'];
  better: MetricValue['better'];
  baseline?: number;
  measured?: number;
  /** (measured - baseline) / baseline, in percent; undefined when the baseline is 0 or either is missing. */
  changePct?: number;
  tolerance: Tolerance & { source: string };
  status: CheckStatus;
  message: string;
}

export interface GateResult {
  run: { dir: string; scenario: string; outcome: string; message: string };
  baseline: { file: string; recordedAt: string; source: string };
  warnings: string[];
  checks: MetricCheck[];
  /** The run itself failed or was interrupted (its figures are partial). */
  runFailed: boolean;
  passed: boolean;
}

/** The change as people read it: +12.3 %, or "from 0" when the baseline is zero. */
export function formatChange(c: Pick<MetricCheck, 'changePct' | 'baseline' | 'measured' | 'unit'>): string {
  if (c.baseline === undefined || c.measured === undefined) return 'n/a';
  if (c.changePct === undefined) {
    const d = c.measured - c.baseline;
    return d === 0 ? '+0 %' : `${d > 0 ? '+' : '-'}${formatValue(Math.abs(d), c.unit)} from 0`;
  }
  return `${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(1)} %`;
}

export function checkMetric(
  id: string,
  base: MetricValue | undefined,
  got: MetricValue | undefined,
  tol: Tolerance & { source: string },
): MetricCheck {
  const unit = (base ?? got)!.unit;
  const better = (base ?? got)!.better;
  const fmt = (v: number | undefined) => formatValue(v, unit);
  const tolText = `tolerance ${better === 'lower' ? '+' : '-'}${formatTolerance(tol, (v) => formatValue(v, unit))}`;
  if (!base) {
    return {
      id,
      unit,
      better,
      measured: got!.value,
      tolerance: tol,
      status: 'new',
      message: `${id}: ${fmt(got!.value)}, not in the baseline (not gated)`,
    };
  }
  if (!got) {
    return {
      id,
      unit,
      better,
      baseline: base.value,
      tolerance: tol,
      status: 'missing',
      message: `${id}: not measured in this run (baseline ${fmt(base.value)}); a figure the baseline has must be measured`,
    };
  }
  const delta = got.value - base.value;
  const changePct = base.value !== 0 ? (delta / Math.abs(base.value)) * 100 : undefined;
  const worse = better === 'lower' ? delta : -delta; // > 0 when the figure moved the wrong way
  const allowed = Math.max((tol.pct / 100) * Math.abs(base.value), tol.abs);
  const c: MetricCheck = {
    id,
    unit,
    better,
    baseline: base.value,
    measured: got.value,
    changePct,
    tolerance: tol,
    status: 'pass',
    message: '',
  };
  const change = formatChange(c);
  if (worse > allowed && worse > 0) {
    c.status = 'regressed';
    c.message = `${id} regressed: baseline ${fmt(base.value)}, measured ${fmt(got.value)}, change ${change} (${better} is better; ${tolText})`;
  } else if (-worse > allowed && -worse > 0) {
    c.status = 'improved';
    c.message = `${id} improved: baseline ${fmt(base.value)}, measured ${fmt(got.value)}, change ${change} (consider recording a new baseline)`;
  } else {
    c.message = `${id} within tolerance: baseline ${fmt(base.value)}, measured ${fmt(got.value)}, change ${change} (${tolText})`;
  }
  return c;
}

const stable = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));

/** Differences between how the baseline and the run were made: comparable only when these match. */
export function parameterWarnings(
  base: RunParameters,
  run: RunParameters,
  baseEnv?: Environment,
  env: Environment = currentEnvironment(),
): string[] {
  const w: string[] = [];
  if (base.scenario !== run.scenario) w.push(`different scenario: baseline ${base.scenario}, run ${run.scenario}`);
  if (base.targetKind !== run.targetKind) w.push(`different target: baseline ${base.targetKind}, run ${run.targetKind}`);
  const seg = (s?: { index: number; count: number }) => (s ? `segment ${s.index}/${s.count}` : 'unsegmented');
  if (seg(base.segment) !== seg(run.segment)) w.push(`different segment: baseline ${seg(base.segment)}, run ${seg(run.segment)}`);
  const flat = (p: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = v2;
      else out[k] = v;
    }
    return out;
  };
  const a = flat(base.parameters ?? {});
  const b = flat(run.parameters ?? {});
  const diffs: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (stable(a[k]) !== stable(b[k])) diffs.push(`${k} ${stable(a[k]) ?? '-'} -> ${stable(b[k]) ?? '-'}`);
  }
  if (diffs.length) w.push(`different parameters (baseline -> run): ${diffs.join(', ')}`);
  const v = (x?: Record<string, unknown>) => stable(x ?? {});
  if (base.versions && run.versions && v(base.versions) !== v(run.versions))
    w.push(`different versions: baseline ${v(base.versions)}, run ${v(run.versions)}`);
  if (baseEnv && (baseEnv.cpus !== env.cpus || baseEnv.cpuModel !== env.cpuModel || Math.abs(baseEnv.memGiB - env.memGiB) > 1)) {
    w.push(
      `different machine: baseline recorded on ${baseEnv.cpus} x ${baseEnv.cpuModel}, ${baseEnv.memGiB} GiB; this one has ${env.cpus} x ${env.cpuModel}, ${env.memGiB} GiB`,
    );
  }
  return w;
}

export function compareRun(
  baseline: Baseline,
  baselineFile: string,
  run: MeasuredRun,
  cliTolerances: ToleranceRule[] = [],
  env?: Environment,
): GateResult {
  const ids = [...new Set([...Object.keys(baseline.metrics), ...Object.keys(run.metrics)])];
  const order = (id: string) =>
    ['throughput', 'latency', 'error_rate', 'pillow', 'liveness'].findIndex((p) => id === p || id.startsWith(`${p}.`));
  ids.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const checks = ids.map((id) =>
    checkMetric(id, baseline.metrics[id], run.metrics[id], toleranceFor(id, { cli: cliTolerances, baseline: baseline.tolerances })),
  );
  const runFailed = run.outcome === 'failed' || run.outcome === 'interrupted';
  const passed = !runFailed && checks.every((c) => c.status !== 'regressed' && c.status !== 'missing');
  return {
    run: { dir: run.dir, scenario: run.run.scenario, outcome: run.outcome, message: run.message },
    baseline: { file: baselineFile, recordedAt: baseline.recordedAt, source: baseline.source.dir },
    warnings: parameterWarnings(baseline.run, run.run, baseline.environment, env),
    checks,
    runFailed,
    passed,
  };
}

/** What people read: warnings, every regression with how much, then one line per metric and a verdict. */
export function formatGate(r: GateResult): string {
  const lines: string[] = [];
  lines.push(`gate: ${r.run.scenario} run ${r.run.dir}`);
  lines.push(`  against baseline ${r.baseline.file} (from run ${r.baseline.source}, recorded ${r.baseline.recordedAt})`);
  for (const w of r.warnings) lines.push(`warning: ${w}; the comparison may not be like for like`);
  if (r.runFailed) lines.push(`FAILED run: the run ${r.run.outcome} (${r.run.message}); its figures are partial`);
  const bad = r.checks.filter((c) => c.status === 'regressed' || c.status === 'missing');
  for (const c of bad) lines.push(`REGRESSED ${c.message}`);
  lines.push('');
  const w = Math.max(...r.checks.map((c) => c.id.length), 6);
  lines.push(`  ${'metric'.padEnd(w)}  ${'baseline'.padStart(12)}  ${'measured'.padStart(12)}  ${'change'.padStart(14)}  status`);
  for (const c of r.checks) {
    lines.push(
      `  ${c.id.padEnd(w)}  ${formatValue(c.baseline, c.unit).padStart(12)}  ${formatValue(c.measured, c.unit).padStart(12)}  ${formatChange(c).padStart(14)}  ${c.status === 'pass' ? 'ok' : c.status.toUpperCase()}`,
    );
  }
  const count = (s: CheckStatus) => r.checks.filter((c) => c.status === s).length;
  lines.push('');
  lines.push(
    `${r.passed ? 'PASSED' : 'FAILED'}: ${r.checks.length} metrics, ${count('regressed') + count('missing')} regressed` +
      `${count('missing') ? ` (${count('missing')} not measured)` : ''}, ${count('pass')} within tolerance, ${count('improved')} improved, ${count('new')} not in the baseline`,
  );
  return lines.join('\n');
}
