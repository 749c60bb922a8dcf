// A host collector for a VM played by a container: CPU, memory, block I/O and network from the Docker engine's
// stats API (`GET /containers/<id>/stats?stream=false` on its socket), judged against the container's own limits
// (from `GET /containers/<id>/json`), so it stands where node_exporter stands for a real VM (`labels.via: docker`).
import http from 'node:http';
import { RateTracker } from './rates.ts';
import { sample, type Collector, type Sample } from './types.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The parts of the engine's stats answer this collector reads (cgroup v1 and v2 both fill these). */
export interface DockerStats {
  read: string;
  preread?: string;
  cpu_stats: DockerCpu;
  precpu_stats?: DockerCpu;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  blkio_stats?: {
    io_service_bytes_recursive?: Array<{ op: string; value: number }> | null;
    io_serviced_recursive?: Array<{ op: string; value: number }> | null;
  };
  networks?: Record<
    string,
    {
      rx_bytes: number;
      tx_bytes: number;
      rx_packets: number;
      tx_packets: number;
      rx_errors: number;
      tx_errors: number;
      rx_dropped: number;
      tx_dropped: number;
    }
  >;
  pids_stats?: { current?: number };
}

interface DockerCpu {
  cpu_usage: { total_usage: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods: number; throttled_periods: number; throttled_time: number };
}

/** The parts of `docker inspect` that give the limits. */
export interface DockerInspect {
  Id: string;
  Name?: string;
  State?: { Running?: boolean };
  HostConfig: { NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number; Memory?: number };
}

export interface ContainerLimits {
  /** CPU limit in cores; the machine's online CPUs when the container has none. */
  cpuCores: number;
  cpuLimited: boolean;
  /** Memory limit in bytes; the engine's reported limit (the machine's memory) when it has none. */
  memBytes: number;
  memLimited: boolean;
}

export function containerLimits(inspect: DockerInspect, stats: DockerStats): ContainerLimits {
  const hc = inspect.HostConfig;
  let cpuCores = 0;
  if (hc.NanoCpus && hc.NanoCpus > 0) cpuCores = hc.NanoCpus / 1e9;
  else if (hc.CpuQuota && hc.CpuQuota > 0) cpuCores = hc.CpuQuota / (hc.CpuPeriod || 100_000);
  const online = stats.cpu_stats.online_cpus ?? 1;
  const memLimited = !!hc.Memory && hc.Memory > 0;
  return {
    cpuCores: cpuCores || online,
    cpuLimited: cpuCores > 0,
    memBytes: memLimited ? hc.Memory! : (stats.memory_stats.limit ?? 0),
    memLimited,
  };
}

/** Memory in use as `docker stats` counts it: usage less the page cache the kernel can drop (inactive files). */
export function memoryUsed(m: DockerStats['memory_stats']): number {
  const usage = m.usage ?? 0;
  const s = m.stats ?? {};
  const inactive = s.total_inactive_file ?? s.inactive_file;
  return inactive !== undefined && inactive < usage ? usage - inactive : usage;
}

function blkio(stats: DockerStats, list: 'io_service_bytes_recursive' | 'io_serviced_recursive', op: 'read' | 'write'): number {
  return (stats.blkio_stats?.[list] ?? []).filter((e) => e.op.toLowerCase() === op).reduce((a, e) => a + e.value, 0);
}

/**
 * Samples from one stats reading. Rates (CPU, throttling, I/O, network) are against the previous reading in
 * `rates`; on the first one CPU falls back to the engine's own previous reading (`precpu_stats`, about 1 s before).
 */
export function dockerSamples(
  now: Date,
  host: string,
  container: string,
  stats: DockerStats,
  limits: ContainerLimits,
  rates: RateTracker,
): Sample[] {
  const out: Sample[] = [];
  const labels = { via: 'docker', container };
  const add = (metric: string, value: number | undefined, extra: Record<string, string> = {}) => {
    if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'host', host, metric, value, { ...labels, ...extra }));
  };
  const readMs = Date.parse(stats.read);
  const t = Number.isFinite(readMs) ? readMs : now.getTime();
  const usageNs = stats.cpu_stats.cpu_usage.total_usage;
  let cores = rates.rate('cpu', usageNs, t);
  if (cores === undefined && stats.precpu_stats?.cpu_usage && stats.preread) {
    const dt = t - Date.parse(stats.preread);
    const d = usageNs - stats.precpu_stats.cpu_usage.total_usage;
    if (dt > 0 && d >= 0 && stats.precpu_stats.cpu_usage.total_usage > 0) cores = (d * 1000) / dt;
  }
  if (cores !== undefined) cores /= 1e9; // ns of CPU per s = cores
  add('cpu_limit_cores', limits.cpuCores);
  add('cpus', limits.cpuCores);
  add('cpu_cores', cores);
  const pctOfLimit = cores === undefined ? undefined : (100 * cores) / limits.cpuCores;
  add('cpu_limit_pct', pctOfLimit);
  // node_exporter's busy % is of the VM's cores: here the container's limit is the VM's cores
  add('cpu_busy_pct', pctOfLimit === undefined ? undefined : Math.min(100, pctOfLimit));
  const th = stats.cpu_stats.throttling_data;
  if (th) {
    const periods = rates.delta('cpu.periods', th.periods, t)?.delta;
    const throttled = rates.delta('cpu.throttled', th.throttled_periods, t)?.delta;
    if (periods !== undefined && throttled !== undefined) add('cpu_throttled_pct', periods > 0 ? (100 * throttled) / periods : 0);
  }
  const used = memoryUsed(stats.memory_stats);
  add('mem_limit_bytes', limits.memBytes);
  add('mem_total_bytes', limits.memBytes);
  add('mem_used_bytes', used);
  add('mem_available_bytes', Math.max(0, limits.memBytes - used));
  if (limits.memBytes > 0) {
    add('mem_limit_pct', (100 * used) / limits.memBytes);
    add('mem_used_pct', (100 * used) / limits.memBytes);
  }
  add('processes', stats.pids_stats?.current);
  const io = {
    rb: blkio(stats, 'io_service_bytes_recursive', 'read'),
    wb: blkio(stats, 'io_service_bytes_recursive', 'write'),
    r: blkio(stats, 'io_serviced_recursive', 'read'),
    w: blkio(stats, 'io_serviced_recursive', 'write'),
  };
  const dev = { device: 'container' };
  add('disk_read_bytes_per_s', rates.rate('io.rb', io.rb, t), dev);
  add('disk_write_bytes_per_s', rates.rate('io.wb', io.wb, t), dev);
  add('disk_reads_per_s', rates.rate('io.r', io.r, t), dev);
  add('disk_writes_per_s', rates.rate('io.w', io.w, t), dev);
  for (const [name, n] of Object.entries(stats.networks ?? {})) {
    const l = { device: name };
    add('net_rx_bytes_per_s', rates.rate(`net.rx.${name}`, n.rx_bytes, t), l);
    add('net_tx_bytes_per_s', rates.rate(`net.tx.${name}`, n.tx_bytes, t), l);
    add('net_rx_packets_per_s', rates.rate(`net.rxp.${name}`, n.rx_packets, t), l);
    add('net_tx_packets_per_s', rates.rate(`net.txp.${name}`, n.tx_packets, t), l);
    add('net_errors_per_s', rates.rate(`net.err.${name}`, n.rx_errors + n.tx_errors, t), l);
    add('net_drops_per_s', rates.rate(`net.drop.${name}`, n.rx_dropped + n.tx_dropped, t), l);
  }
  return out;
}

/** GET on the engine's socket, JSON back; a non-2xx answer is an error carrying the engine's message. */
export function dockerGet<T>(socketPath: string, path: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) {
          let message = body.trim();
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? message;
          } catch {
            // not JSON: the text itself
          }
          reject(new Error(`docker engine ${path}: ${res.statusCode} ${message}`));
          return;
        }
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(new Error(`docker engine ${path}: not JSON (${(err as Error).message})`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`docker engine ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface DockerHostTarget {
  host: string;
  /** Container name or id. */
  container: string;
  /** The engine's socket (default /var/run/docker.sock, or DOCKER_HOST=unix://...). */
  socketPath?: string;
}

export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.DOCKER_HOST;
  return h?.startsWith('unix://') ? h.slice('unix://'.length) : DEFAULT_DOCKER_SOCKET;
}

/** The collector: limits are read once per container id (a restarted container is read again). */
export function dockerStatsCollector(target: DockerHostTarget, opts: { timeoutMs?: number } = {}): Collector {
  const socket = target.socketPath ?? dockerSocketPath();
  const rates = new RateTracker();
  let inspect: DockerInspect | undefined;
  const name = encodeURIComponent(target.container);
  return {
    name: `host@${target.host}`,
    source: 'host',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const stats = await dockerGet<DockerStats>(socket, `/containers/${name}/stats?stream=false`, opts.timeoutMs);
      // a stopped container answers zeros read at year 1: never figures, and its limits are read again on restart
      const stopped = !(Date.parse(stats.read) > 0);
      if (stopped) inspect = undefined;
      if (!inspect || !inspect.State?.Running) {
        const fresh = await dockerGet<DockerInspect>(socket, `/containers/${name}/json`, opts.timeoutMs);
        if (inspect && fresh.Id !== inspect.Id) rates.clear();
        inspect = fresh;
      }
      if (stopped || !inspect.State?.Running) throw new Error(`container ${target.container} is not running`);
      return dockerSamples(now, target.host, target.container, stats, containerLimits(inspect, stats), rates);
    },
  };
}
