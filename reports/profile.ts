// Calibration profiles: the per-unit costs of one or more runs in one file (`capacity calibrate RESULTS...
// --out profile.json`), with their spread across runs and where they were measured, for `capacity report` and
// `capacity plan` to size with (`--calibration profile.json`).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { loadTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import {
  calibrate,
  COST_KEYS,
  isStandIn,
  sourceOfTarget,
  type Calibration,
  type CostKey,
  type CostSource,
  type UnitCost,
} from './calibrate.ts';
import { loadResults } from '../results-dir/index.ts';

export const PROFILE_FORMAT = 'capacity-calibration/1';

export interface ProfileRun {
  dir: string;
  scenario?: string;
  startedAt?: string;
  source?: CostSource;
  baseUrl?: string;
  formsAcknowledged: number;
}

export interface ProfileCost {
  key: CostKey;
  label: string;
  unit: string;
  /** The median over the runs that measured it. */
  value: number;
  min: number;
  max: number;
  /** (max - min) / median: how far the runs disagree. */
  spread: number;
  /** One per run that measured it, in the order of `runs` (runs that did not are left out). */
  values: number[];
  /** Where the runs measured it. */
  sources: CostSource[];
  basis: string;
}

export interface CalibrationProfile {
  format: typeof PROFILE_FORMAT;
  createdAt: string;
  runs: ProfileRun[];
  costs: ProfileCost[];
  /** Costs no run measured, with the first run's reason. */
  notMeasured: Array<{ key: CostKey; reason: string }>;
}

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The profile of runs already calibrated: per cost, the median, the range and the sources. */
export function buildProfile(runs: ReadonlyArray<{ run: ProfileRun; calibration: Calibration }>, now = new Date()): CalibrationProfile {
  const costs: ProfileCost[] = [];
  const notMeasured: CalibrationProfile['notMeasured'] = [];
  for (const key of COST_KEYS) {
    const found = runs.map(({ calibration }) => calibration.costs.find((c) => c.key === key)).filter((c): c is UnitCost => !!c);
    const measured = found.filter((c) => c.value !== undefined);
    if (!measured.length) {
      if (found.length) notMeasured.push({ key, reason: found[0]!.basis });
      continue;
    }
    const values = measured.map((c) => c.value!);
    const value = median(values);
    const min = Math.min(...values);
    const max = Math.max(...values);
    const sources = [...new Set(measured.map((c) => c.source).filter((s): s is CostSource => !!s))];
    costs.push({
      key,
      label: measured[0]!.label,
      unit: measured[0]!.unit,
      value,
      min,
      max,
      spread: value ? (max - min) / value : 0,
      values,
      sources,
      basis: measured.length === 1 ? measured[0]!.basis : `median of ${measured.length} runs`,
    });
  }
  return { format: PROFILE_FORMAT, createdAt: now.toISOString(), runs: runs.map((r) => r.run), costs, notMeasured };
}

/** Calibrates each results directory (with the topology its run was given, when the file is still there). */
export async function calibrateRuns(
  dirs: readonly string[],
  topologyFile?: string,
): Promise<Array<{ run: ProfileRun; calibration: Calibration }>> {
  if (!dirs.length) throw new UserError('give at least one results directory');
  const given = topologyFile ? loadTopology(topologyFile) : undefined;
  const out: Array<{ run: ProfileRun; calibration: Calibration }> = [];
  for (const dir of dirs) {
    const results = await loadResults(dir);
    let topology: Topology | undefined = given;
    const file = results.manifest?.topology?.file;
    if (!topology && file && fs.existsSync(file)) topology = loadTopology(file);
    const calibration = calibrate(results, topology);
    const run: ProfileRun = { dir: path.resolve(dir), formsAcknowledged: calibration.counts.formsAcknowledged };
    const m = results.manifest;
    if (m?.scenario) run.scenario = m.scenario;
    const startedAt = m?.startedAt ?? results.summary?.startedAt;
    if (startedAt) run.startedAt = startedAt;
    const source = sourceOfTarget(m?.target?.kind);
    if (source) run.source = source;
    if (m?.target?.baseUrl && source === 'URL target') run.baseUrl = m.target.baseUrl;
    out.push({ run, calibration });
  }
  return out;
}

/** Reads and checks a profile; a bad file is one line. */
export function readProfile(file: string): CalibrationProfile {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such calibration profile`);
    throw new UserError(`${file}: not a calibration profile (${code ?? (err as Error).message.split('\n')[0]})`);
  }
  const p = data as Partial<CalibrationProfile>;
  if (!p || typeof p !== 'object' || p.format !== PROFILE_FORMAT || !Array.isArray(p.costs) || !Array.isArray(p.runs)) {
    throw new UserError(`${file}: not a calibration profile (expected "format": "${PROFILE_FORMAT}" from capacity calibrate)`);
  }
  p.costs.forEach((c, i) => {
    if (!c || !(COST_KEYS as readonly string[]).includes(c.key) || typeof c.value !== 'number' || !Number.isFinite(c.value)) {
      throw new UserError(`${file}: costs[${i}]: needs a known "key" and a numeric "value"`);
    }
  });
  return p as CalibrationProfile;
}

/**
 * A profile as the costs of a calibration (what the projection reads). A cost is marked as stand-in only when
 * every run behind it was: one measurement against a real HQ is worth more than the stand-in's.
 */
export function profileCalibration(profile: CalibrationProfile, file: string): Calibration {
  const name = path.basename(file);
  return {
    counts: { formsAcknowledged: 0 },
    services: [],
    notes: [`per-unit costs from calibration profile ${name} (${profile.runs.length} run${profile.runs.length === 1 ? '' : 's'})`],
    costs: profile.costs.map((c) => {
      const real = c.sources.find((s) => !isStandIn(s));
      const source = real ?? c.sources[0];
      const range =
        c.values.length > 1
          ? `, ${c.values.length} runs from ${fmt(c.min)} to ${fmt(c.max)} (spread ${(c.spread * 100).toFixed(0)} %)`
          : '';
      const u: UnitCost = { key: c.key, label: c.label, unit: c.unit, value: c.value, basis: `profile ${name}: ${c.basis}${range}` };
      if (source) u.source = source;
      return u;
    }),
  };
}

/** The run's own calibration with the profile's costs in place of its own: its RAM and counts stay. */
export function withProfile(own: Calibration, profile: CalibrationProfile, file: string): Calibration {
  const p = profileCalibration(profile, file);
  return { ...own, costs: p.costs, notes: [...p.notes, ...own.notes] };
}

function fmt(n: number): string {
  return Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString();
}
