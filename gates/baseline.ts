// A stored baseline: the gate's figures from one run, the parameters that run was made with, the machine it ran
// on, and optionally tolerances that travel with it. Plain JSON, meant to be committed and reviewed.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { currentEnvironment, type Environment, type MeasuredRun, type MetricValue, type RunParameters } from './metrics.ts';
import type { ToleranceRule } from './tolerance.ts';

export const BASELINE_KIND = 'capacity-baseline';
export const BASELINE_VERSION = 1;

export interface Baseline {
  kind: typeof BASELINE_KIND;
  version: typeof BASELINE_VERSION;
  recordedAt: string;
  /** The run it was taken from. */
  source: { dir: string; startedAt: string; outcome: string };
  run: RunParameters;
  environment: Environment;
  metrics: Record<string, MetricValue>;
  tolerances?: ToleranceRule[];
}

export function baselineFromRun(m: MeasuredRun, tolerances?: ToleranceRule[]): Baseline {
  return {
    kind: BASELINE_KIND,
    version: BASELINE_VERSION,
    recordedAt: new Date().toISOString(),
    source: { dir: path.basename(path.resolve(m.dir)), startedAt: m.startedAt, outcome: m.outcome },
    run: m.run,
    environment: currentEnvironment(),
    metrics: m.metrics,
    ...(tolerances?.length ? { tolerances } : {}),
  };
}

export function writeBaseline(file: string, b: Baseline): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(b, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Loads and checks a baseline file; anything malformed is a UserError (exit 2). */
export function loadBaseline(file: string): Baseline {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`baseline ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError(`baseline ${file}: not valid JSON`);
  }
  return checkBaseline(data, file);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Every field the gate reads, checked: a typo must stop the gate (exit 2), never switch a check off. A tolerance of
 * the wrong type once made the gate pass a run that had regressed.
 */
export function checkBaseline(b: unknown, file: string): Baseline {
  const bad = (what: string) => new UserError(`baseline ${file}: ${what}`);
  if (!isObject(b)) throw bad('not a capacity baseline (a JSON object is expected)');
  if (b.kind !== BASELINE_KIND)
    throw bad(`not a capacity baseline (kind "${String(b.kind)}"); make one with \`capacity baseline save <results-dir>\``);
  if (b.version !== BASELINE_VERSION) throw bad(`version ${String(b.version)} is not supported (expected ${BASELINE_VERSION})`);
  if (!isObject(b.metrics) || !isObject(b.run)) throw bad('no metrics or run parameters');
  for (const [id, m] of Object.entries(b.metrics)) {
    if (!isObject(m) || !isNumber(m.value) || (m.better !== 'higher' && m.better !== 'lower') || typeof m.unit !== 'string') {
      throw bad(`metric ${id} needs a numeric value, a unit and better: higher|lower`);
    }
  }
  const run = b.run;
  if (typeof run.scenario !== 'string' || typeof run.targetKind !== 'string') throw bad('run needs a scenario and a targetKind');
  if (run.parameters !== undefined && !isObject(run.parameters)) throw bad('run.parameters must be an object');
  if (run.versions !== undefined && !isObject(run.versions)) throw bad('run.versions must be an object');
  if (run.segment !== undefined && (!isObject(run.segment) || !isNumber(run.segment.index) || !isNumber(run.segment.count)))
    throw bad('run.segment needs an index and a count');
  if (!isObject(b.source) || typeof b.source.dir !== 'string') throw bad('source.dir must be a string');
  if (b.recordedAt !== undefined && typeof b.recordedAt !== 'string') throw bad('recordedAt must be a string');
  const e = b.environment;
  if (e !== undefined && (!isObject(e) || !isNumber(e.cpus) || typeof e.cpuModel !== 'string' || !isNumber(e.memGiB))) {
    throw bad('environment needs cpus, cpuModel and memGiB');
  }
  if (b.tolerances !== undefined) b.tolerances = checkTolerances(b.tolerances, bad);
  return b as unknown as Baseline;
}

/** `tolerances`: a list of {pattern, tolerance: {pct, abs?}}, both numbers at least 0 (abs null or absent: inherited). */
function checkTolerances(value: unknown, bad: (what: string) => UserError): ToleranceRule[] {
  if (!Array.isArray(value)) throw bad('tolerances must be a list of {"pattern": ..., "tolerance": {"pct": ..., "abs": ...}}');
  return value.map((r: unknown, i) => {
    const where = `tolerances[${i}]`;
    if (!isObject(r)) throw bad(`${where} must be an object with a pattern and a tolerance`);
    if (typeof r.pattern !== 'string' || r.pattern.trim() === '')
      throw bad(`${where}.pattern must be a metric id or pattern, found ${JSON.stringify(r.pattern) ?? 'nothing'}`);
    const t = r.tolerance;
    if (!isObject(t)) throw bad(`${where}.tolerance must be an object {"pct": ..., "abs": ...}, found ${JSON.stringify(t) ?? 'nothing'}`);
    for (const k of Object.keys(t))
      if (k !== 'pct' && k !== 'abs') throw bad(`${where}.tolerance has an unknown field "${k}" (allowed: pct, abs)`);
    if (!isNumber(t.pct) || t.pct < 0)
      throw bad(`${where}.tolerance.pct must be a number of percent, at least 0, found ${JSON.stringify(t.pct) ?? 'nothing'}`);
    if (t.abs !== undefined && t.abs !== null && (!isNumber(t.abs) || t.abs < 0))
      throw bad(`${where}.tolerance.abs must be a number at least 0, found ${JSON.stringify(t.abs)}`);
    return { pattern: r.pattern, tolerance: { pct: t.pct, abs: isNumber(t.abs) ? t.abs : Number.NaN } };
  });
}
