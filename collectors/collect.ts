// `capacity collect`: watch the sources without load for a while, a compact line per tick, every sample in
// <out>/samples.ndjson.
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { loadStackContext } from '../stack/stack.ts';
import { loadTopology } from '../topology/load.ts';
import { formatDuration } from '../core/duration.ts';
import { startCollectors } from './index.ts';
import type { SamplerStats } from './sampler.ts';
import { summarizeTick } from './summary.ts';
import { describeTargets, localTargets, targetsFromTopology, type CollectorTargets } from './targets.ts';

export interface CollectOptions {
  topology?: string;
  durationMs: number;
  intervalMs: number;
  outDir?: string;
  /** Where the live lines go (default stdout); null for none. */
  print?: ((line: string) => void) | null;
  /** Stops early when aborted (Ctrl-C). */
  signal?: AbortSignal;
}

export interface CollectResult {
  outFile: string;
  targets: CollectorTargets;
  stats: SamplerStats;
}

export function defaultOutDir(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return path.join('results', `collect-${stamp}`);
}

export async function collect(opts: CollectOptions): Promise<CollectResult> {
  if (!(opts.intervalMs >= 100)) throw new UserError(`--interval must be at least 100ms`);
  if (!(opts.durationMs > 0)) throw new UserError(`--duration must be more than 0`);
  const targets = opts.topology ? targetsFromTopology(loadTopology(opts.topology)) : localTargets(loadStackContext());
  if (describeTargets(targets) === 'nothing') {
    throw new UserError(`${opts.topology}: names no host or service the collectors can watch (services with endpoints, or node_exporter)`);
  }
  const outDir = opts.outDir ?? defaultOutDir();
  const outFile = path.join(outDir, 'samples.ndjson');
  const print = opts.print === undefined ? (l: string) => process.stdout.write(`${l}\n`) : opts.print;
  print?.(
    `watching ${describeTargets(targets)} every ${formatDuration(opts.intervalMs)} for ${formatDuration(opts.durationMs)} -> ${outFile}`,
  );
  const running = startCollectors(targets, {
    intervalMs: opts.intervalMs,
    outFile,
    onTick: (t) => print?.(summarizeTick(t)),
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.durationMs);
    opts.signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await running.stop();
  const s = running.stats;
  print?.(`${s.ticks} ticks, ${s.samples} samples, ${s.gaps} gaps -> ${outFile}`);
  return { outFile, targets, stats: s };
}
