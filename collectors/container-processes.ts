// CPU and memory per component of the stack in containers, as the local stack's process collector gives them per
// process tree (`process` samples labelled with the component and its service kind), so `capacity calibrate` reads
// a containers run as it reads a local one. From the engine's stats API: one container per component.
import { dockerGet, dockerSocketPath, memoryUsed, type DockerStats } from './docker-stats.ts';
import { serviceOfComponent } from './local-stack.ts';
import { RateTracker } from './rates.ts';
import { gapSample, sample, type Collector, type Sample } from './types.ts';

export interface ContainerProcessTarget {
  host: string;
  /** component (web-1, postgres...) -> its container's name */
  containers: Record<string, string>;
  /** The engine's socket (default /var/run/docker.sock, or DOCKER_HOST=unix://...). */
  socketPath?: string;
}

/** The samples of one component from one stats reading (pure: unit-tested); undefined for a stopped container. */
export function componentSamples(now: Date, host: string, component: string, stats: DockerStats, rates: RateTracker): Sample[] | undefined {
  const readMs = Date.parse(stats.read);
  if (!(readMs > 0)) return undefined; // a stopped container answers zeros read at year 1
  const labels = { process: component, service: serviceOfComponent(component) };
  const cpuSeconds = stats.cpu_stats.cpu_usage.total_usage / 1e9;
  const out = [sample(now, 'process', host, 'cpu_seconds', cpuSeconds, labels)];
  const cores = rates.rate(component, cpuSeconds, readMs);
  if (cores !== undefined) out.push(sample(now, 'process', host, 'cpu_cores', cores, labels));
  out.push(sample(now, 'process', host, 'rss_bytes', memoryUsed(stats.memory_stats), labels));
  if (stats.pids_stats?.current !== undefined) out.push(sample(now, 'process', host, 'processes', stats.pids_stats.current, labels));
  return out;
}

export function containerProcessCollector(target: ContainerProcessTarget, opts: { timeoutMs?: number } = {}): Collector {
  const socket = target.socketPath ?? dockerSocketPath();
  const rates = new RateTracker();
  const c: Collector = {
    name: `container-process@${target.host}`,
    source: 'process',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const parts = await Promise.all(
        Object.entries(target.containers).map(async ([component, container]) => {
          try {
            // one-shot: one reading at once (the rate comes from the previous tick), not two a second apart
            const stats = await dockerGet<DockerStats>(
              socket,
              `/containers/${encodeURIComponent(container)}/stats?stream=false&one-shot=true`,
              opts.timeoutMs,
            );
            const s = componentSamples(now, target.host, component, stats, rates);
            // a restarted container's counter starts again at 0: the tracker skips that one negative step
            return s ?? [gapSample(now, c, new Error(`container ${container} is not running`), component)];
          } catch (err) {
            return [gapSample(now, c, err, component)];
          }
        }),
      );
      return parts.flat();
    },
  };
  return c;
}
