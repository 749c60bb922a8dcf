// `capacity gate` and `capacity baseline save` as functions: what the commands do, without commander.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { baselineFromRun, loadBaseline, writeBaseline, type Baseline } from './baseline.ts';
import { compareRun, formatGate, type GateResult } from './compare.ts';
import { gateJUnit } from './junit.ts';
import { measureRun, type Environment } from './metrics.ts';
import { parseTolerances } from './tolerance.ts';

export const GATE_EXIT = { passed: 0, regressed: 1, badInput: 2 } as const;

export interface GateOptions {
  resultsDir: string;
  baselineFile: string;
  junitFile?: string;
  tolerances?: string | string[];
  /** For tests: the machine to compare the baseline's with. */
  environment?: Environment;
}

export interface GateOutcome {
  result: GateResult;
  text: string;
  junit: string;
  exitCode: number;
}

export function runGate(opts: GateOptions): GateOutcome {
  const cli = parseTolerances(opts.tolerances);
  const baseline = loadBaseline(opts.baselineFile);
  const run = measureRun(opts.resultsDir);
  const result = compareRun(baseline, opts.baselineFile, run, cli, opts.environment);
  const junit = gateJUnit(result);
  if (opts.junitFile) {
    try {
      fs.mkdirSync(path.dirname(path.resolve(opts.junitFile)), { recursive: true });
      fs.writeFileSync(opts.junitFile, junit);
    } catch (err) {
      throw new UserError(`cannot write JUnit report ${opts.junitFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { result, text: formatGate(result), junit, exitCode: result.passed ? GATE_EXIT.passed : GATE_EXIT.regressed };
}

export interface SaveOptions {
  resultsDir: string;
  out: string;
  tolerances?: string | string[];
  /** Record a baseline from a run that failed or was interrupted (normally refused). */
  allowFailed?: boolean;
}

export function saveBaseline(opts: SaveOptions): Baseline {
  const run = measureRun(opts.resultsDir);
  if ((run.outcome === 'failed' || run.outcome === 'interrupted') && !opts.allowFailed) {
    throw new UserError(
      `${opts.resultsDir}: the run ${run.outcome} (${run.message}); a baseline from it would gate against partial figures (--allow-failed to record it anyway)`,
    );
  }
  const b = baselineFromRun(run, parseTolerances(opts.tolerances));
  writeBaseline(opts.out, b);
  return b;
}

export function defaultBaselineFile(resultsDir: string, root: string): string {
  const run = measureRun(resultsDir);
  return path.join(root, 'gates', 'baselines', `${run.run.targetKind}-${run.run.scenario}.json`);
}
