// Figures only the local stack can give, for calibration (reports/calibrate.ts):
//
// - `process`: CPU and memory of each stack component (web workers, pillows, PostgreSQL, Kafka, Elasticsearch,
//   nginx, Redis), from the pid files in .capacity/run/*.pid.json and /proc/<pid>/stat. A component's figure
//   covers its whole process tree (PostgreSQL backends, nginx workers): utime + stime + cutime + cstime of
//   every live process in the tree (a reaped child's time is in its parent's cutime, so nothing is counted
//   twice). Metrics (labels process, service): `cpu_seconds` (cumulative counter), `cpu_cores` (CPU seconds per
//   second since the last tick), `rss_bytes`, `processes`. A pid file whose process is gone is a gap for that
//   part (labels.part = the component), never a zero.
// - `local_store`: what a run adds to stores the other collectors cannot see: `kafka_log_bytes` (topic: the
//   sum of the topic's *.log segment files under Kafka's log dir; index files are preallocated so they are left
//   out) and, from the HQ-compatible service's sync log, `synclogs` and `synclog_cases` (restores served so far
//   and the cases they carried, summed); from its Redis, `exports_done` and `exported_rows` (exports finished so
//   far and the rows they held, summed).
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { EXPORT_TOTALS } from '../hq/index.ts';
import { RateTracker } from './rates.ts';
import { gapSample, sample, type Collector, type Sample } from './types.ts';

const CLK_TCK = 100; // USER_HZ
const PAGE_BYTES = 4096;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

/** One /proc/<pid>/stat line. The command name may hold spaces and parentheses: fields start after the last ")". */
export function parsePidStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf('(')).trim());
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state): field n is f[n - 3]
  const num = (n: number) => Number(f[n - 3] ?? NaN);
  const cpuTicks = num(14) + num(15) + num(16) + num(17);
  if (close < 0 || !Number.isFinite(pid) || !Number.isFinite(cpuTicks))
    throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 60)}`);
  return { pid, ppid: num(4), cpuSeconds: cpuTicks / CLK_TCK, rssBytes: num(24) * PAGE_BYTES };
}

/** Every process on the machine, by pid (processes that vanish while being read are left out). */
export function readAllProcStats(procRoot = '/proc'): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of fs.readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = parsePidStat(fs.readFileSync(path.join(procRoot, name, 'stat'), 'utf8'));
      out.set(s.pid, s);
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

/** CPU seconds, RSS and process count of `root` and all its live descendants; undefined when root is not running. */
export function treeTotals(
  all: Map<number, ProcStat>,
  root: number,
): { cpuSeconds: number; rssBytes: number; processes: number } | undefined {
  if (!all.has(root)) return undefined;
  const children = new Map<number, number[]>();
  for (const s of all.values()) {
    const list = children.get(s.ppid);
    if (list) list.push(s.pid);
    else children.set(s.ppid, [s.pid]);
  }
  let cpuSeconds = 0;
  let rssBytes = 0;
  let processes = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const s = all.get(pid);
    if (!s) continue;
    cpuSeconds += s.cpuSeconds;
    rssBytes += s.rssBytes;
    processes++;
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return { cpuSeconds, rssBytes, processes };
}

/** The service kind (topology/model.ts) a stack component stands for. */
export function serviceOfComponent(name: string): string {
  if (/^web-\d+$/.test(name)) return 'django';
  if (name.startsWith('pillow')) return 'pillowtop';
  if (/^celery-\d+$/.test(name)) return 'celery';
  if (name === 'postgres') return 'postgresql';
  return name; // kafka, elasticsearch, nginx, redis
}

export interface ProcessTarget {
  /** The stack's run dir holding <component>.pid.json files. */
  runDir: string;
  host: string;
  /** Only these components (default: every pid file). */
  components?: string[];
}

function readPidFiles(runDir: string, only?: string[]): Array<{ name: string; pid: number }> {
  let files: string[];
  try {
    files = fs.readdirSync(runDir).filter((f) => f.endsWith('.pid.json'));
  } catch {
    return [];
  }
  const out: Array<{ name: string; pid: number }> = [];
  for (const f of files.sort()) {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(runDir, f), 'utf8')) as { pid?: unknown; name?: unknown };
      const name = typeof rec.name === 'string' ? rec.name : f.replace(/\.pid\.json$/, '');
      if (typeof rec.pid === 'number' && (!only || only.includes(name))) out.push({ name, pid: rec.pid });
    } catch {
      // half-written by a starting component: next tick
    }
  }
  return out;
}

export function processCollector(target: ProcessTarget, opts: { procRoot?: string } = {}): Collector {
  const rates = new RateTracker();
  const c: Collector = {
    name: `process@${target.host}`,
    source: 'process',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const components = readPidFiles(target.runDir, target.components);
      if (!components.length) throw new Error(`no pid files in ${target.runDir} (is the local stack up?)`);
      const all = readAllProcStats(opts.procRoot);
      const t = now.getTime();
      const out: Sample[] = [];
      const keys = new Set<string>();
      for (const { name, pid } of components) {
        const tot = treeTotals(all, pid);
        if (!tot) {
          out.push(gapSample(now, c, new Error(`${name}: pid ${pid} is not running`), name));
          continue;
        }
        const labels = { process: name, service: serviceOfComponent(name) };
        const key = `${name}:${pid}`;
        keys.add(key);
        out.push(sample(now, 'process', target.host, 'cpu_seconds', tot.cpuSeconds, labels));
        const r = rates.rate(key, tot.cpuSeconds, t);
        if (r !== undefined) out.push(sample(now, 'process', target.host, 'cpu_cores', r, labels));
        out.push(sample(now, 'process', target.host, 'rss_bytes', tot.rssBytes, labels));
        out.push(sample(now, 'process', target.host, 'processes', tot.processes, labels));
      }
      rates.retain(keys);
      return out;
    },
  };
  return c;
}

export interface LocalStoreTarget {
  host: string;
  /** Kafka's log.dirs (one dir): <topic>-<partition>/ folders. */
  kafkaLogDir?: string;
  /** PostgreSQL with the HQ-compatible service's phone_synclogsql. */
  postgresUrl?: string;
  /** Redis with the HQ-compatible service's export totals. */
  redisUrl?: string;
}

/** Bytes of *.log segments per topic under a Kafka log dir. */
export function kafkaLogBytes(logDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of fs.readdirSync(logDir, { withFileTypes: true })) {
    const m = /^(.+)-(\d+)$/.exec(d.name);
    if (!d.isDirectory() || !m) continue;
    let bytes = 0;
    try {
      for (const f of fs.readdirSync(path.join(logDir, d.name))) {
        if (!f.endsWith('.log')) continue;
        try {
          bytes += fs.statSync(path.join(logDir, d.name, f)).size;
        } catch {
          // segment deleted by retention between readdir and stat
        }
      }
    } catch {
      continue; // partition deleted
    }
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + bytes);
  }
  return out;
}

export function localStoreCollector(target: LocalStoreTarget, opts: { timeoutMs?: number } = {}): Collector {
  let pool: pg.Pool | undefined;
  let redis: Redis | undefined;
  const c: Collector = {
    name: `local_store@${target.host}`,
    source: 'local_store',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const out: Sample[] = [];
      if (target.kafkaLogDir) {
        try {
          for (const [topic, bytes] of kafkaLogBytes(target.kafkaLogDir))
            out.push(sample(now, 'local_store', target.host, 'kafka_log_bytes', bytes, { topic }));
        } catch (err) {
          out.push(gapSample(now, c, err, 'kafka_log'));
        }
      }
      if (target.postgresUrl) {
        pool ??= new pg.Pool({
          connectionString: target.postgresUrl,
          max: 1,
          connectionTimeoutMillis: opts.timeoutMs ?? 5000,
          statement_timeout: opts.timeoutMs ?? 5000,
        });
        try {
          const r = await pool.query<{ n: string; cases: string }>(
            'select count(*)::text as n, coalesce(sum(case_count), 0)::text as cases from phone_synclogsql',
          );
          out.push(sample(now, 'local_store', target.host, 'synclogs', Number(r.rows[0]!.n)));
          out.push(sample(now, 'local_store', target.host, 'synclog_cases', Number(r.rows[0]!.cases)));
        } catch (err) {
          out.push(gapSample(now, c, err, 'synclog'));
        }
      }
      if (target.redisUrl) {
        if (!redis) {
          redis = new Redis(target.redisUrl, {
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            enableOfflineQueue: false,
            connectTimeout: opts.timeoutMs ?? 3000,
            commandTimeout: opts.timeoutMs ?? 3000,
            retryStrategy: () => 500,
          });
          redis.on('error', () => undefined); // a failed reading is the gap
        }
        try {
          if (redis.status === 'wait') await redis.connect();
          const [exports, rows] = await redis.mget(EXPORT_TOTALS.exports, EXPORT_TOTALS.rows);
          out.push(sample(now, 'local_store', target.host, 'exports_done', Number(exports ?? 0)));
          out.push(sample(now, 'local_store', target.host, 'exported_rows', Number(rows ?? 0)));
        } catch (err) {
          out.push(gapSample(now, c, err, 'exports'));
        }
      }
      return out;
    },
    async close() {
      await pool?.end().catch(() => undefined);
      pool = undefined;
      redis?.disconnect();
      redis = undefined;
    },
  };
  return c;
}
