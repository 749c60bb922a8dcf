// Runs one load generator and reads what it costs from /proc while it runs: the CPU time of its processes (the
// process and every live descendant, plus what exited children left in its own counters), its peak resident
// memory, and nginx's request counter, which says when requests flow. For the benchmarks (harness, k6 memory).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { RunEnv } from '../scenarios/lib/params.ts';

const USER_HZ = 100;
const PAGE = 4096;

export interface Measured {
  code: number;
  out: string;
  /** requests nginx counted from the first sample that saw load to the last (what the rates are read over) */
  requests: number;
  /** every request nginx counted for the run, read once more after the generator exited: a short run can end
   * between two samples */
  sent: number;
  /** CPU-seconds from the first request to the last (the rate a generator sustains) */
  loadCpuS: number;
  loadWallS: number;
  /** CPU-seconds before the first request (k6 init: loading the corpus) */
  startupCpuS: number;
  totalCpuS: number;
  /** the highest resident memory of the generator's processes added up, MB (1e6 bytes) */
  peakRssMb: number;
  /** the main process's own high-water mark (VmHWM), MB: the exact peak, where the samples are 20 ms apart */
  hwmMb: number;
}

/** fields of /proc/<pid>/stat after the command name */
function stat(pid: number): string[] | undefined {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** pid and its live descendants */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let children = '';
    try {
      for (const t of fs.readdirSync(`/proc/${out[i]}/task`)) children += fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    for (const c of children.split(' ').filter(Boolean)) out.push(Number(c));
  }
  return out;
}

/** CPU-seconds of a process tree: the root's own and its waited-for children's, the live descendants' own */
export function treeCpuS(pid: number): { cpuS: number; rssMb: number } | undefined {
  const root = stat(pid);
  if (!root) return undefined;
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]);
  let pages = Number(root[21]);
  for (const d of processTree(pid).slice(1)) {
    const f = stat(d);
    if (!f) continue;
    ticks += Number(f[11]) + Number(f[12]);
    pages += Number(f[21]);
  }
  return { cpuS: ticks / USER_HZ, rssMb: (pages * PAGE) / 1e6 };
}

/** VmHWM of a process, MB; NaN when it is gone */
export function highWaterMb(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? (Number(kb) * 1024) / 1e6 : NaN;
  } catch {
    return NaN;
  }
}

/** nginx's stub_status request counter */
export async function nginxRequests(statusUrl: string): Promise<number> {
  return Number(/\n\s*\d+\s+\d+\s+(\d+)/.exec(await (await fetch(statusUrl)).text())![1]);
}

/**
 * Runs a generator to its end (or `limitS`, after which it is stopped: every bench run is bounded) and samples its
 * CPU, memory and nginx's request counter every 20 ms.
 */
export async function measure(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  statusUrl: string,
  opts: { cwd?: string; limitS?: number } = {},
): Promise<Measured> {
  const base = await nginxRequests(statusUrl);
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let code: number | undefined;
  child.on('close', (c) => (code = c ?? 1));
  child.on('error', (err) => {
    out += `${cmd}: ${err.message}\n`; // could not start it: reported as a failed run, not an unhandled error
    code ??= 127;
  });
  const started = Date.now();
  const limit = setTimeout(() => child.kill('SIGINT'), (opts.limitS ?? 600) * 1000);
  const samples: { cpu: number; req: number; t: number }[] = [];
  let peakRssMb = 0;
  let hwmMb = 0;
  while (code === undefined) {
    const c = child.pid ? treeCpuS(child.pid) : undefined;
    const hwm = child.pid ? highWaterMb(child.pid) : NaN;
    if (!Number.isNaN(hwm)) hwmMb = hwm;
    // every status poll is itself a request: take ours out
    const req = (await nginxRequests(statusUrl)) - base - samples.length - 1;
    if (c) {
      samples.push({ cpu: c.cpuS, req, t: Date.now() });
      peakRssMb = Math.max(peakRssMb, c.rssMb);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  clearTimeout(limit);
  const sent = (await nginxRequests(statusUrl)) - base - samples.length - 1;
  if (Date.now() - started >= (opts.limitS ?? 600) * 1000) out += `\n(stopped after ${opts.limitS ?? 600} s)\n`;
  const first = samples.findIndex((s) => s.req > 2);
  let last = samples.length - 1;
  while (last > 0 && samples[last]!.req <= samples[last - 1]!.req) last--;
  const from = samples[Math.max(0, first - 1)] ?? { cpu: 0, req: 0, t: 0 };
  const to = samples[last] ?? from;
  return {
    code: code ?? 1,
    out,
    requests: to.req - from.req,
    sent,
    loadCpuS: to.cpu - from.cpu,
    loadWallS: (to.t - from.t) / 1000,
    startupCpuS: first < 0 ? (samples.at(-1)?.cpu ?? 0) : from.cpu,
    totalCpuS: samples.at(-1)?.cpu ?? 0,
    peakRssMb,
    hwmMb,
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The harness's run as `capacity run` gives it to k6, posting to nginx's /sink/ (the benches' common target). */
export function sinkRunEnv(base: string, corpusDir: string, vus: number): RunEnv {
  return {
    scenario: 'steady',
    baseUrl: `${base}/sink`,
    domain: 'bench',
    corpusDir,
    shape: {},
    followEvery: 10,
    ownership: { segments: 1, pool: vus },
  };
}

/**
 * On two cores or more: the server's processes on core 0, this process's threads (and so every generator it starts
 * from now on) on core 1, so a generator never shares its core with the server it loads and its CPU per request is
 * its own. Returns the line that says so and what undoes it (every core again for both).
 */
export function pinApart(serverPids: number[]): { note: string; restore: () => void } {
  const cores = os.cpus().length;
  if (cores < 2 || serverPids.length === 0) return { note: 'generators and server share the cores', restore: () => undefined };
  const set = (cpus: string, pids: number[]) => {
    for (const pid of pids) execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
  };
  set('0', serverPids);
  set('1', [process.pid]);
  const all = `0-${cores - 1}`;
  return {
    note: `nginx pinned to core 0, each generator to core 1`,
    restore: () => {
      set(
        all,
        serverPids.filter((pid) => fs.existsSync(`/proc/${pid}`)),
      );
      set(all, [process.pid]);
    },
  };
}
