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
  let b: Partial<Baseline>;
  try {
    b = JSON.parse(text) as Partial<Baseline>;
  } catch {
    throw new UserError(`baseline ${file}: not valid JSON`);
  }
  if (b.kind !== BASELINE_KIND) throw new UserError(`baseline ${file}: not a capacity baseline (kind "${String(b.kind)}"); make one with \`capacity baseline save <results-dir>\``);
  if (b.version !== BASELINE_VERSION) throw new UserError(`baseline ${file}: version ${String(b.version)} is not supported (expected ${BASELINE_VERSION})`);
  if (!b.metrics || typeof b.metrics !== 'object' || !b.run) throw new UserError(`baseline ${file}: no metrics or run parameters`);
  for (const [id, m] of Object.entries(b.metrics)) {
    if (typeof m?.value !== 'number' || (m.better !== 'higher' && m.better !== 'lower') || typeof m.unit !== 'string') {
      throw new UserError(`baseline ${file}: metric ${id} needs a numeric value, a unit and better: higher|lower`);
    }
  }
  return b as Baseline;
}
