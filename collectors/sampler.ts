// The sampler: runs every collector once per interval, appends what they return to samples.ndjson as each
// one answers (one write per collector per tick, so a run that dies loses at most the readings in flight),
// and turns a collector that fails or overruns into a gap record while the others carry on.
import fs from 'node:fs';
import path from 'node:path';
import { errorText, gapSample, sample, type Collector, type Sample } from './types.ts';

export interface SamplerOptions {
  /** Default 5000. */
  intervalMs?: number;
  /** NDJSON file to append to (created with its directory). Without it samples only go to onSamples. */
  outFile?: string;
  /** A collector that has not answered after this long is written as a gap. Default max(interval, 5 s). */
  timeoutMs?: number;
  /** fsync the file after each write (survives a machine crash, not only a process crash). Default false. */
  fsync?: boolean;
  /** Called with each tick's samples once every collector of that tick has answered or timed out. */
  onTick?: (tick: TickResult) => void;
}

export interface TickResult {
  ts: Date;
  samples: Sample[];
  /** Collectors skipped because their previous reading was still running. */
  skipped: string[];
  durationMs: number;
}

export interface SamplerStats {
  ticks: number;
  samples: number;
  gaps: number;
  /** Collector readings taken, and how many of them failed outright (a whole-source gap). */
  readings: number;
  failedReadings: number;
  skipped: number;
  /** Wall time from tick start to the last collector answering, per tick. */
  tickMs: number[];
}

export interface RunningCollectors {
  /** Stops scheduling, waits for readings in flight (up to their timeout), closes connections and the file. */
  stop(): Promise<void>;
  readonly stats: SamplerStats;
}

/** Starts sampling at once and then every interval until stop(). */
export function startSampler(collectors: Collector[], opts: SamplerOptions = {}): RunningCollectors {
  const names = new Set<string>();
  for (const c of collectors) {
    if (names.has(c.name)) throw new Error(`two collectors are named ${c.name}`);
    names.add(c.name);
  }
  const intervalMs = opts.intervalMs ?? 5000;
  if (!(intervalMs >= 100)) throw new Error(`interval must be at least 100 ms, not ${intervalMs}`);
  const timeoutMs = opts.timeoutMs ?? Math.max(intervalMs, 5000);
  let fd: number | undefined;
  if (opts.outFile) {
    fs.mkdirSync(path.dirname(path.resolve(opts.outFile)), { recursive: true });
    fd = fs.openSync(opts.outFile, 'a');
  }
  const stats: SamplerStats = { ticks: 0, samples: 0, gaps: 0, readings: 0, failedReadings: 0, skipped: 0, tickMs: [] };
  const write = (samples: Sample[]) => {
    if (!samples.length) return;
    stats.samples += samples.length;
    for (const s of samples) if (s.gap) stats.gaps++;
    if (fd === undefined) return;
    fs.writeSync(fd, samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    if (opts.fsync) fs.fdatasyncSync(fd);
  };

  const busy = new Map<string, Promise<void>>();
  const ticksInFlight = new Set<Promise<void>>();
  let stopped = false;

  const runOne = async (c: Collector, now: Date): Promise<Sample[]> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer after ${timeoutMs} ms`)), timeoutMs);
    });
    const reading = c.sample(now);
    reading.catch(() => undefined); // a late failure after a timeout is already reported
    try {
      const samples = await Promise.race([reading, timeout]);
      return samples;
    } catch (err) {
      return [gapSample(now, c, errorText(err))];
    } finally {
      clearTimeout(timer);
    }
  };

  const tick = async (now: Date): Promise<void> => {
    const t0 = performance.now();
    const skipped: string[] = [];
    const all: Sample[] = [];
    const started: Promise<void>[] = [];
    for (const c of collectors) {
      if (busy.has(c.name)) {
        skipped.push(c.name);
        continue;
      }
      const p = (async () => {
        const t1 = performance.now();
        const samples = await runOne(c, now);
        stats.readings++;
        if (samples.length === 1 && samples[0]!.gap && !samples[0]!.labels.part) stats.failedReadings++;
        samples.push(sample(now, 'sampler', c.host, 'sample_ms', performance.now() - t1, { collector: c.name }));
        write(samples);
        all.push(...samples);
      })().finally(() => busy.delete(c.name));
      busy.set(c.name, p);
      started.push(p);
    }
    stats.skipped += skipped.length;
    await Promise.all(started);
    const durationMs = performance.now() - t0;
    stats.ticks++;
    stats.tickMs.push(durationMs);
    opts.onTick?.({ ts: now, samples: all, skipped, durationMs });
  };

  let wake: (() => void) | undefined;
  function waitOrStop(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  // Ticks start on a fixed schedule (start + k * interval); a tick that overruns makes the next collectors
  // that are still busy skip, never shifts the schedule.
  const loop = (async () => {
    const start = Date.now();
    for (let k = 0; !stopped; k++) {
      const due = start + k * intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await waitOrStop(wait);
      if (stopped) break;
      if (Date.now() - due > intervalMs) continue; // fell more than a tick behind (e.g. the machine paused)
      const p = tick(new Date());
      ticksInFlight.add(p);
      p.finally(() => ticksInFlight.delete(p));
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    stats,
    stop(): Promise<void> {
      stopping ??= (async () => {
        stopped = true;
        wake?.();
        await loop;
        await Promise.allSettled([...ticksInFlight]);
        await Promise.allSettled(collectors.map((c) => c.close?.()));
        if (fd !== undefined) {
          fs.closeSync(fd);
          fd = undefined;
        }
      })();
      return stopping;
    },
  };
}
