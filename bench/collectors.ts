// The cost of sampling: every local source at a 1 s interval. Prints time per tick (wall, from tick start to
// the last collector answering), the CPU this process used as a share of one core, and per collector timings.
//
//   node --import tsx bench/collectors.ts [--seconds 30] [--interval 1000] [--every-tick]
//
// --every-tick also reads pg_stat_statements, table sizes and per-index `_count` on every tick (by default
// they are read every 10 s / 30 s / 30 s), the worst case.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCollectors, localTargets } from '../collectors/targets.ts';
import { startSampler } from '../collectors/sampler.ts';
import type { Sample } from '../collectors/types.ts';
import { loadStackContext, stackUp } from '../stack/stack.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    interval: { type: 'string', default: '1000' },
    'every-tick': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const intervalMs = Number(values.interval);
const everyTick = values['every-tick'];

const ctx = loadStackContext({ createUser: true });
await stackUp(ctx);
const collectors = buildCollectors(localTargets(ctx), {
  postgres: everyTick ? { statementsEveryMs: 0, sizesEveryMs: 0 } : {},
  elasticsearch: everyTick ? { indexEveryMs: 0 } : {},
});
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-collectors-')), 'samples.ndjson');
const perCollector = new Map<string, number[]>();
const tickSamples: number[] = [];
let gaps = 0;
let warm: { cpu: NodeJS.CpuUsage; t: number } | undefined;
const run = startSampler(collectors, {
  intervalMs,
  outFile: out,
  onTick: (tick) => {
    // the first tick opens connections: CPU is counted from the end of it
    warm ??= { cpu: process.cpuUsage(), t: performance.now() };
    tickSamples.push(tick.samples.length);
    for (const s of tick.samples as Sample[]) {
      if (s.gap) gaps++;
      if (s.source === 'sampler' && s.metric === 'sample_ms') {
        const name = s.labels.collector!;
        perCollector.set(name, [...(perCollector.get(name) ?? []), s.value]);
      }
    }
  },
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpuEnd = process.cpuUsage();
const tEnd = performance.now();
await run.stop();

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const share = (from: NodeJS.CpuUsage, t: number) => {
  const d = process.cpuUsage(from);
  const used = cpuEnd.user - from.user + (cpuEnd.system - from.system);
  void d;
  return (100 * used) / 1000 / (tEnd - t);
};
const ticks = run.stats.tickMs.slice(1);
const bytes = fs.statSync(out).size;
console.log(`collectors: ${collectors.map((c) => c.name).join(', ')}`);
console.log(
  `interval ${intervalMs} ms, ${seconds} s, ${run.stats.ticks} ticks${everyTick ? ', statements/sizes/_count every tick' : ''}; node ${process.version}, ${os.cpus().length} CPUs`,
);
console.log(
  `tick wall time (after the first): p50 ${pct(ticks, 50).toFixed(1)} ms, p95 ${pct(ticks, 95).toFixed(1)} ms, max ${Math.max(...ticks).toFixed(1)} ms; first tick ${run.stats.tickMs[0]?.toFixed(1)} ms`,
);
console.log(
  `CPU of this process: ${share(warm!.cpu, warm!.t).toFixed(2)} % of one core after the first tick (${share(cpu0, t0).toFixed(2)} % including it)`,
);
console.log(
  `samples per tick: p50 ${pct(tickSamples, 50)}, ${(bytes / run.stats.ticks / 1024).toFixed(1)} KiB NDJSON per tick, ${gaps} gaps, ${run.stats.skipped} skipped`,
);
for (const [name, xs] of [...perCollector.entries()].sort()) {
  const rest = xs.slice(1);
  console.log(`  ${name.padEnd(26)} p50 ${pct(rest, 50).toFixed(1).padStart(6)} ms  p95 ${pct(rest, 95).toFixed(1).padStart(6)} ms`);
}
fs.rmSync(path.dirname(out), { recursive: true, force: true });
