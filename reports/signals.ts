// OpenCRVS's scaling signals, per VM, from the host samples of a run: CPU constantly maxed, iowait constantly
// high, RAM paging (and memory nearly full). "Constantly" = in at least `constantShare` of the host's readings.
import type { Topology, VmRow } from '../topology/model.ts';
import type { Signal } from './project.ts';
import type { SampleStore } from '../results-dir/index.ts';

export const SIGNAL_THRESHOLDS = {
  cpuBusyPct: 90,
  iowaitPct: 10,
  memUsedPct: 95,
  /** Share of readings over the threshold that makes it "constant". */
  constantShare: 0.8,
  /** Swapping in any reading out of this share, or major faults over majorFaultsPerS. */
  pagingShare: 0.2,
  majorFaultsPerS: 50,
  minReadings: 3,
} as const;

export interface HostStats {
  host: string;
  row?: string;
  readings: number;
  cpuBusyMean?: number;
  cpuBusyMax?: number;
  iowaitMean?: number;
  iowaitMax?: number;
  memUsedMaxPct?: number;
  swapPagesPerSMax?: number;
  majorFaultsPerSMax?: number;
  signals: Signal[];
}

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined);
const max = (v: number[]) => (v.length ? Math.max(...v) : undefined);
const share = (v: number[], over: number) => (v.length ? v.filter((x) => x >= over).length / v.length : 0);

export function hostSignals(samples: SampleStore, host: string): HostStats {
  const vals = (metric: string) => samples.get('host', metric, {}, host).flatMap((s) => s.v);
  const busy = vals('cpu_busy_pct');
  const iowait = vals('cpu_iowait_pct');
  const mem = vals('mem_used_pct');
  const swapIn = vals('swap_in_pages_per_s');
  const swapOut = vals('swap_out_pages_per_s');
  const majf = vals('major_faults_per_s');
  const T = SIGNAL_THRESHOLDS;
  const signals: Signal[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  if (busy.length >= T.minReadings && share(busy, T.cpuBusyPct) >= T.constantShare) {
    signals.push({
      name: 'cpu-maxed',
      detail: `CPU busy >= ${T.cpuBusyPct} % in ${pct(share(busy, T.cpuBusyPct))} of ${busy.length} readings (mean ${mean(busy)!.toFixed(0)} %)`,
    });
  }
  if (iowait.length >= T.minReadings && share(iowait, T.iowaitPct) >= T.constantShare) {
    signals.push({
      name: 'iowait-high',
      detail: `iowait >= ${T.iowaitPct} % in ${pct(share(iowait, T.iowaitPct))} of ${iowait.length} readings (mean ${mean(iowait)!.toFixed(1)} %)`,
    });
  }
  const swapping = swapIn.map((x, i) => x + (swapOut[i] ?? 0));
  const swapShare = swapping.length ? swapping.filter((x) => x > 0).length / swapping.length : 0;
  const faultShare = share(majf, T.majorFaultsPerS);
  if (swapping.length >= T.minReadings && swapShare >= T.pagingShare) {
    signals.push({
      name: 'paging',
      detail: `swapping in ${pct(swapShare)} of ${swapping.length} readings (up to ${max(swapping)!.toFixed(0)} pages/s)`,
    });
  } else if (majf.length >= T.minReadings && faultShare >= T.pagingShare) {
    signals.push({ name: 'paging', detail: `major faults >= ${T.majorFaultsPerS}/s in ${pct(faultShare)} of ${majf.length} readings` });
  }
  if (mem.length >= T.minReadings && share(mem, T.memUsedPct) >= T.constantShare) {
    signals.push({
      name: 'memory-full',
      detail: `memory used >= ${T.memUsedPct} % in ${pct(share(mem, T.memUsedPct))} of ${mem.length} readings`,
    });
  }
  const out: HostStats = { host, readings: busy.length, signals };
  const set = <K extends keyof HostStats>(k: K, v: HostStats[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('cpuBusyMean', mean(busy));
  set('cpuBusyMax', max(busy));
  set('iowaitMean', mean(iowait));
  set('iowaitMax', max(iowait));
  set('memUsedMaxPct', max(mem));
  set('swapPagesPerSMax', max(swapping));
  set('majorFaultsPerSMax', max(majf));
  return out;
}

const isLoopback = (a: string) => a === 'localhost' || a === '::1' || /^127\./.test(a);

/** The VM row a sampled host belongs to: topology host by name or address; a lone row takes this machine. */
export function rowOfHost(host: string, rows: readonly VmRow[], topology?: Topology): string | undefined {
  const h =
    topology?.hosts.find((x) => x.name === host || x.address === host) ??
    (isLoopback(host) ? topology?.hosts.find((x) => isLoopback(x.address)) : undefined);
  if (h?.row) return h.row;
  if (rows.length === 1) return rows[0]!.name;
  return undefined;
}

/** Signals per host, and per row (a row takes the signals of each of its hosts, named). */
export function signalsByRow(
  samples: SampleStore,
  rows: readonly VmRow[],
  topology?: Topology,
): { hosts: HostStats[]; byRow: Map<string, Signal[]> } {
  const hosts = samples.hosts('host').map((h) => {
    const stats = hostSignals(samples, h);
    const row = rowOfHost(h, rows, topology);
    if (row) stats.row = row;
    return stats;
  });
  const byRow = new Map<string, Signal[]>();
  for (const h of hosts) {
    if (!h.row) continue;
    const list = byRow.get(h.row) ?? [];
    for (const s of h.signals)
      list.push({ name: s.name, detail: hosts.filter((x) => x.row === h.row).length > 1 ? `${h.host}: ${s.detail}` : s.detail });
    byRow.set(h.row, list);
  }
  return { hosts, byRow };
}
