// Verdicts from measured per-VM load, for a run whose VMs were played by containers (a rehearsal: host samples
// `via: docker`, docker/README.md): every VM row judged by what its own containers used against their own
// limits, over the run, at the rate reached, and step by step under ramp-to-break to name the first VM to
// saturate. This is the question the VM summary exists to answer: which VM gives out first.
import type { Topology, VmRow } from '../topology/model.ts';
import type { SampleStore, StepResult } from '../results-dir/index.ts';

export const SATURATION = {
  /** Mean CPU over a step, % of the container's CPU limit. */
  cpuPctOfLimit: 90,
  /** Highest memory reading in a step, % of the container's memory limit. */
  memPctOfLimit: 95,
} as const;

export interface RehearsalHost {
  host: string;
  row?: string;
  container: string;
  cpuLimitCores?: number;
  memLimitBytes?: number;
  readings: number;
  cpuPctMean?: number;
  cpuPctMax?: number;
  throttledPctMean?: number;
  memPctMean?: number;
  memPctMax?: number;
  /** Over the step of the rate reached (the highest sustained step, else the last one). */
  cpuPctAtRate?: number;
  memPctAtRate?: number;
}

export interface RehearsalStep {
  rate: number;
  achievedPerSec: number;
  sustained: boolean;
  /** Mean CPU % of limit per host over the step. */
  cpuPct: Record<string, number>;
  /** Highest memory % of limit per host in the step. */
  memPct: Record<string, number>;
}

export interface Saturation {
  host: string;
  row?: string;
  /** The step's target rate (forms/s), and what was achieved in it. */
  rate: number;
  achievedPerSec: number;
  resource: 'cpu' | 'memory';
  /** % of the container's limit. */
  value: number;
}

export type RowState = 'saturated first' | 'saturated' | 'carries load' | 'idle' | 'not started';

export interface RehearsalRow {
  row: string;
  hosts: string[];
  state: RowState;
  cpuPctMean?: number;
  cpuPctMax?: number;
  memPctMax?: number;
  cpuPctAtRate?: number;
  memPctAtRate?: number;
  /** The lowest step at which one of its hosts saturated. */
  saturatedAt?: Saturation;
}

export interface RehearsalReport {
  hosts: RehearsalHost[];
  rows: RehearsalRow[];
  steps: RehearsalStep[];
  /** The rate whose step the "at rate" columns read (forms/s), and what was achieved there. */
  rateReached?: { rate: number; achievedPerSec: number; sustained: boolean };
  firstToSaturate?: Saturation;
  summary: string;
}

/** Under this mean CPU % of its limit over the run, with no memory pressure, a row did not carry load. */
const IDLE_CPU_PCT = 5;

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined);
const max = (v: number[]) => (v.length ? Math.max(...v) : undefined);

function readings(samples: SampleStore, host: string, metric: string, fromMs = -Infinity, toMs = Infinity): number[] {
  return samples.get('host', metric, { via: 'docker' }, host).flatMap((s) => s.v.filter((_, i) => s.t[i]! >= fromMs && s.t[i]! < toMs));
}

/** Hosts read through the Docker engine, and the container each was. */
export function containerHosts(samples: SampleStore): Array<{ host: string; container: string }> {
  const out = new Map<string, string>();
  for (const s of samples.get('host', 'cpu_limit_cores', { via: 'docker' })) out.set(s.host, s.labels.container ?? s.host);
  return [...out].map(([host, container]) => ({ host, container })).sort((a, b) => a.host.localeCompare(b.host));
}

function rowOf(host: string, topology?: Topology): string | undefined {
  return topology?.hosts.find((h) => h.name === host || h.address === host)?.row;
}

/**
 * The rehearsal's verdicts, or undefined when no host was read through the Docker engine. `steps` and `stepS`
 * are ramp-to-break's (summary.rampToBreak); without them the run is judged as a whole.
 */
export function rehearsalVerdicts(
  samples: SampleStore,
  rows: readonly VmRow[],
  topology: Topology | undefined,
  ramp?: { steps: StepResult[]; stepS?: number },
): RehearsalReport | undefined {
  const found = containerHosts(samples);
  if (!found.length) return undefined;
  const T = SATURATION;
  const stepS = ramp?.stepS ?? (ramp && ramp.steps.length > 1 ? ramp.steps[1]!.startSecond - ramp.steps[0]!.startSecond : undefined) ?? 30;
  const window = (st: StepResult) => [st.startSecond * 1000, (st.startSecond + stepS) * 1000] as const;

  const steps: RehearsalStep[] = (ramp?.steps ?? []).map((st) => {
    const [from, to] = window(st);
    const cpuPct: Record<string, number> = {};
    const memPct: Record<string, number> = {};
    for (const { host } of found) {
      const c = mean(readings(samples, host, 'cpu_limit_pct', from, to));
      const m = max(readings(samples, host, 'mem_limit_pct', from, to));
      if (c !== undefined) cpuPct[host] = c;
      if (m !== undefined) memPct[host] = m;
    }
    return { rate: st.rate, achievedPerSec: st.achievedPerSec, sustained: st.sustained, cpuPct, memPct };
  });
  // the step of the rate reached: the highest sustained one, else the last with readings
  const rampSteps = ramp?.steps ?? [];
  let reachedIdx = -1;
  for (let i = 0; i < rampSteps.length; i++) if (rampSteps[i]!.sustained) reachedIdx = i;
  if (reachedIdx < 0) reachedIdx = rampSteps.length - 1;
  const reached = reachedIdx >= 0 ? rampSteps[reachedIdx] : undefined;

  const saturations: Saturation[] = [];
  steps.forEach((st) => {
    for (const { host } of found) {
      const c = st.cpuPct[host];
      const m = st.memPct[host];
      const base = { host, rate: st.rate, achievedPerSec: st.achievedPerSec };
      const row = rowOf(host, topology);
      if (c !== undefined && c >= T.cpuPctOfLimit) saturations.push({ ...base, ...(row ? { row } : {}), resource: 'cpu', value: c });
      else if (m !== undefined && m >= T.memPctOfLimit)
        saturations.push({ ...base, ...(row ? { row } : {}), resource: 'memory', value: m });
    }
  });
  // first by step, then the fullest in that step
  const firstToSaturate = [...saturations].sort((a, b) => a.rate - b.rate || b.value - a.value)[0];

  const hosts: RehearsalHost[] = found.map(({ host, container }) => {
    const cpu = readings(samples, host, 'cpu_limit_pct');
    const mem = readings(samples, host, 'mem_limit_pct');
    const h: RehearsalHost = { host, container, readings: cpu.length };
    const set = <K extends keyof RehearsalHost>(k: K, v: RehearsalHost[K] | undefined) => {
      if (v !== undefined) h[k] = v;
    };
    set('row', rowOf(host, topology));
    set('cpuLimitCores', readings(samples, host, 'cpu_limit_cores').at(-1));
    set('memLimitBytes', readings(samples, host, 'mem_limit_bytes').at(-1));
    set('cpuPctMean', mean(cpu));
    set('cpuPctMax', max(cpu));
    set('throttledPctMean', mean(readings(samples, host, 'cpu_throttled_pct')));
    set('memPctMean', mean(mem));
    set('memPctMax', max(mem));
    if (reached) {
      const [from, to] = window(reached);
      set('cpuPctAtRate', mean(readings(samples, host, 'cpu_limit_pct', from, to)));
      set('memPctAtRate', max(readings(samples, host, 'mem_limit_pct', from, to)));
    }
    return h;
  });

  const rowNames = rows.length ? rows.map((r) => r.name) : [...new Set(hosts.map((h) => h.row ?? h.host))];
  const outRows: RehearsalRow[] = rowNames.map((name) => {
    const mine = hosts.filter((h) => (h.row ?? h.host) === name);
    if (!mine.length) return { row: name, hosts: [], state: 'not started' as const };
    const pick = (f: (h: RehearsalHost) => number | undefined) => max(mine.map(f).filter((x): x is number => x !== undefined));
    const sat = saturations.filter((s) => mine.some((h) => h.host === s.host)).sort((a, b) => a.rate - b.rate || b.value - a.value)[0];
    const r: RehearsalRow = { row: name, hosts: mine.map((h) => h.host), state: 'carries load' };
    const set = <K extends keyof RehearsalRow>(k: K, v: RehearsalRow[K] | undefined) => {
      if (v !== undefined) r[k] = v;
    };
    set(
      'cpuPctMean',
      pick((h) => h.cpuPctMean),
    );
    set(
      'cpuPctMax',
      pick((h) => h.cpuPctMax),
    );
    set(
      'memPctMax',
      pick((h) => h.memPctMax),
    );
    set(
      'cpuPctAtRate',
      pick((h) => h.cpuPctAtRate),
    );
    set(
      'memPctAtRate',
      pick((h) => h.memPctAtRate),
    );
    if (sat) {
      r.saturatedAt = sat;
      r.state = sat === firstToSaturate ? 'saturated first' : 'saturated';
    } else if ((r.cpuPctMean ?? 0) < IDLE_CPU_PCT && (r.memPctMax ?? 0) < T.memPctOfLimit) r.state = 'idle';
    return r;
  });

  const f = firstToSaturate;
  const summary = f
    ? `first VM to saturate: ${f.host}${f.row ? ` (row ${f.row})` : ''} at the ${f.rate}/s step (${f.achievedPerSec.toFixed(1)}/s achieved): ${f.resource} ${f.value.toFixed(0)} % of its container's limit`
    : steps.length
      ? `no VM saturated (mean CPU >= ${T.cpuPctOfLimit} % or memory >= ${T.memPctOfLimit} % of its limit in a step) up to the ${steps.at(-1)!.rate}/s step`
      : `no ramp steps: the run is judged as a whole; ${hosts.filter((h) => (h.cpuPctMean ?? 0) >= T.cpuPctOfLimit).length} VM(s) at >= ${T.cpuPctOfLimit} % CPU of their limit on average`;
  const report: RehearsalReport = { hosts, rows: outRows, steps, summary };
  if (reached) report.rateReached = { rate: reached.rate, achievedPerSec: reached.achievedPerSec, sustained: reached.sustained };
  if (f) report.firstToSaturate = f;
  return report;
}
