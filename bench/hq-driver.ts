// Pieces of bench/hq.ts: an open-model submission driver (fixed arrival rate, bounded count and time),
// CPU accounting per stack component from /proc, and an ack-to-searchable poller against ES `xforms`.
import fs from 'node:fs';
import http from 'node:http';
import { submissionRequest, type HttpRequest } from '../generators/requests.ts';
import type { K6Population } from '../generators/k6.ts';
import { groupPids, ownedPid } from '../stack/process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { percentile } from '../core/stats.ts';

// ---------------------------------------------------------------------------------------------------------
// Open-model driver

export interface StepAck {
  formId: string;
  worker: number;
  latencyMs: number;
  ackedAt: number;
}

export interface StepResult {
  offeredPerSec: number;
  planned: number;
  sent: number;
  acks: StepAck[];
  errors: Map<string, number>;
  /** Arrivals that found every worker busy (k6's dropped_iterations). */
  dropped: number;
  elapsedMs: number;
  /** Time from the first arrival to the last response. */
  sendWindowMs: number;
  latencies: number[];
}

/**
 * Prepared requests per worker: each worker's forms in timeline order, rendered ahead of the step so the
 * driver's own CPU during the step is the HTTP client only.
 */
export class RequestQueues {
  private queues: HttpRequest[][];
  constructor(
    private pop: K6Population,
    private target: { baseUrl: string; domain: string },
  ) {
    this.queues = Array.from({ length: pop.size }, () => []);
  }

  /** Renders forms so every worker has at least `perWorker` ready. */
  prepare(perWorker: number): void {
    for (let i = 0; i < this.pop.size; i++) {
      while (this.queues[i]!.length < perWorker) this.queues[i]!.push(this.render(i));
    }
  }

  next(i: number): HttpRequest {
    return this.queues[i]!.shift() ?? this.render(i);
  }

  private render(i: number): HttpRequest {
    const w = this.pop.worker(i);
    return submissionRequest(w.nextSubmission(), w.user, this.target, { multipart: true });
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });

export function send(req: HttpRequest, timeoutMs = 30_000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const body =
      typeof req.body === 'string'
        ? Buffer.from(req.body)
        : req.body
          ? Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength)
          : undefined;
    const r = http.request(
      req.url,
      {
        method: req.method,
        headers: { ...req.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end(body);
  });
}

/**
 * Sends `ratePerSec` forms a second for `seconds` (open model: arrivals do not wait for responses). Each arrival
 * goes to the next idle worker in round-robin order, so a worker never has two forms in flight (a phone submits
 * its forms one at a time, in order). Latency is measured from the scheduled arrival time, so a driver that falls
 * behind shows as latency rather than hiding it.
 */
export async function runStep(
  queues: RequestQueues,
  users: number,
  ratePerSec: number,
  seconds: number,
  onAck?: (a: StepAck) => void,
): Promise<StepResult> {
  const planned = Math.round(ratePerSec * seconds);
  const busy = new Uint8Array(users);
  let rr = 0;
  let sent = 0;
  let dropped = 0;
  const acks: StepAck[] = [];
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const inflight = new Set<Promise<void>>();
  const interval = 1000 / ratePerSec;
  const t0 = performance.now();
  const wall0 = Date.now();
  let lastDone = t0;

  const fire = (scheduled: number) => {
    let w = -1;
    for (let k = 0; k < users; k++) {
      const c = (rr + k) % users;
      if (!busy[c]) {
        w = c;
        break;
      }
    }
    if (w < 0) {
      dropped++;
      return;
    }
    rr = (w + 1) % users;
    busy[w] = 1;
    sent++;
    const req = queues.next(w);
    const p = send(req)
      .then((res) => {
        const now = performance.now();
        const latencyMs = now - scheduled;
        latencies.push(latencyMs);
        if (res.status === 201 && res.body.includes('submit_success')) {
          const a = { formId: String(res.headers['x-commcarehq-formid'] ?? ''), worker: w, latencyMs, ackedAt: Date.now() };
          acks.push(a);
          onAck?.(a);
        } else {
          const key = `HTTP ${res.status}`;
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      })
      .catch((err: Error) => {
        latencies.push(performance.now() - scheduled);
        const key = err.message.slice(0, 60);
        errors.set(key, (errors.get(key) ?? 0) + 1);
      })
      .finally(() => {
        busy[w] = 0;
        lastDone = performance.now();
        inflight.delete(p);
      });
    inflight.add(p);
  };

  let i = 0;
  while (i < planned) {
    const now = performance.now();
    while (i < planned && t0 + i * interval <= now) fire(t0 + i++ * interval);
    if (i < planned) await sleep(Math.max(1, Math.min(5, t0 + i * interval - performance.now())));
  }
  await Promise.all(inflight);
  return {
    offeredPerSec: ratePerSec,
    planned,
    sent,
    acks,
    errors,
    dropped,
    elapsedMs: Date.now() - wall0,
    sendWindowMs: lastDone - t0,
    latencies,
  };
}

// ---------------------------------------------------------------------------------------------------------
// CPU per component from /proc

const CLK_TCK = 100; // USER_HZ on Linux

/** utime + stime + cutime + cstime of one process, in seconds (children reaped by it count as its own). */
function procCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export const CPU_GROUPS: Record<string, string[]> = {
  'web workers': ['web-1', 'web-2', 'web-3'],
  postgres: ['postgres'],
  elasticsearch: ['elasticsearch'],
  kafka: ['kafka'],
  'pillow-xform': ['pillow-xform'],
  'pillow-case': ['pillow-case'],
  'pillow-ucr': ['pillow-ucr'],
  nginx: ['nginx'],
  redis: ['redis'],
};

export interface CpuSnapshot {
  at: number;
  groups: Record<string, number>;
  self: number;
  /** Whole machine: busy and total jiffies from /proc/stat, in seconds. */
  machineBusy: number;
  machineTotal: number;
}

function machine(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = line[3]! + line[4]!;
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** pid -> parent pid for every process (PostgreSQL backends leave the postmaster's process group). */
function parentMap(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      out.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  return out;
}

/** The component's process group plus every descendant of its processes. */
function componentPids(root: number, parents: Map<number, number>): Set<number> {
  const pids = new Set(groupPids(root));
  pids.add(root);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!pids.has(pid) && pids.has(ppid)) {
        pids.add(pid);
        grew = true;
      }
    }
  }
  return pids;
}

export function cpuSnapshot(runDir: string): CpuSnapshot {
  const groups: Record<string, number> = {};
  const parents = parentMap();
  for (const [group, names] of Object.entries(CPU_GROUPS)) {
    let s = 0;
    for (const name of names) {
      const pid = ownedPid(runDir, name);
      if (pid === undefined) continue;
      for (const p of componentPids(pid, parents)) s += procCpuSeconds(p);
    }
    groups[group] = s;
  }
  const u = process.cpuUsage();
  const m = machine();
  return { at: performance.now(), groups, self: (u.user + u.system) / 1e6, machineBusy: m.busy, machineTotal: m.total };
}

export interface CpuDelta {
  seconds: number;
  groups: Record<string, number>;
  self: number;
  stack: number;
  machineBusy: number;
  /** Busy CPU not accounted to the stack or this process (other work on the machine). */
  other: number;
  cores: number;
}

export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
  const groups: Record<string, number> = {};
  let stack = 0;
  for (const k of Object.keys(a.groups)) {
    groups[k] = Math.max(0, b.groups[k]! - a.groups[k]!);
    stack += groups[k]!;
  }
  const self = b.self - a.self;
  const machineBusy = b.machineBusy - a.machineBusy;
  const seconds = (b.at - a.at) / 1000;
  const cores = (b.machineTotal - a.machineTotal) / seconds;
  return { seconds, groups, self, stack, machineBusy, other: Math.max(0, machineBusy - stack - self), cores };
}

// ---------------------------------------------------------------------------------------------------------
// Ack-to-searchable

/**
 * Polls ES `xforms` with a search (not a realtime GET: a form counts once a search finds it, i.e. after a
 * refresh) for sampled acknowledged form ids, every `everyMs`, and records ack -> found.
 */
export class SearchablePoller {
  private pending = new Map<string, number>();
  readonly times: number[] = [];
  private running = true;
  private loop: Promise<void>;
  searches = 0;

  constructor(
    private esUrl: string,
    private everyMs = 100,
  ) {
    this.loop = this.run();
  }

  add(formId: string, ackedAt: number): void {
    this.pending.set(formId, ackedAt);
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** Takes the times recorded so far (and forgets them). */
  take(): number[] {
    return this.times.splice(0);
  }

  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await sleep(50);
    const left = this.pending.size;
    this.pending.clear();
    return left;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t = Date.now();
      if (this.pending.size > 0) {
        const ids = [...this.pending.keys()];
        try {
          const res = await fetch(`${this.esUrl}/xforms/_search?filter_path=hits.hits._id`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ size: ids.length, _source: false, query: { ids: { values: ids } } }),
          });
          this.searches++;
          const body = (await res.json()) as { hits?: { hits?: { _id: string }[] } };
          const now = Date.now();
          for (const h of body.hits?.hits ?? []) {
            const acked = this.pending.get(h._id);
            if (acked === undefined) continue;
            this.times.push(now - acked);
            this.pending.delete(h._id);
          }
        } catch {
          // ES busy or restarting: try again next tick
        }
      }
      await sleep(Math.max(5, this.everyMs - (Date.now() - t)));
    }
  }
}
