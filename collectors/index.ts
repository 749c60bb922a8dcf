// Collectors: the public entry points. `capacity collect` and `capacity run` use startCollectors().
import { startSampler, type RunningCollectors, type SamplerOptions } from './sampler.ts';
import { buildCollectors, type BuildOptions, type CollectorTargets } from './targets.ts';
import type { Collector } from './types.ts';

export type { Collector, Sample } from './types.ts';
export type { RunningCollectors, SamplerOptions, SamplerStats, TickResult } from './sampler.ts';
export { startSampler } from './sampler.ts';
export {
  buildCollectors,
  describeTargets,
  localTargets,
  targetsFromTopology,
  type BuildOptions,
  type CollectorTargets,
} from './targets.ts';
export { summarizeTick } from './summary.ts';

export interface StartOptions extends SamplerOptions, Pick<BuildOptions, 'postgres' | 'elasticsearch'> {}

/**
 * Starts sampling every source in `targets` (or the given collectors) now and then every `intervalMs`
 * (default 5 s), appending to `outFile` (samples.ndjson) as it goes. Stop it with `stop()`, which waits for
 * readings in flight and closes connections.
 */
export function startCollectors(targets: CollectorTargets | Collector[], opts: StartOptions = {}): RunningCollectors {
  const collectors = Array.isArray(targets)
    ? targets
    : buildCollectors(targets, { timeoutMs: opts.timeoutMs, postgres: opts.postgres, elasticsearch: opts.elasticsearch });
  return startSampler(collectors, opts);
}
