// Benchmark: `capacity report` time and peak memory for a one-hour run at 200 requests/s.
//
//   node --import tsx bench/report.ts [--seconds 3600] [--rate 200] [--every 5] [--formats html,md,json,pdf] [--keep]
//
// The results directory is SYNTHETIC (bench/report-synthetic.ts: 3600 s of per-second rows, 720k acks, samples
// every 5 s from every source), generated once into a temp dir; the report is then built in a child process so
// its peak RSS (getrusage maxrss) is the report's alone. Chromium (PDF) is a separate process: its time is in the
// "pdf" lap, its memory is not in the Node figure.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3600' },
    rate: { type: 'string', default: '200' },
    every: { type: 'string', default: '5' },
    formats: { type: 'string', default: 'html,md,json,pdf' },
    keep: { type: 'boolean', default: false },
    measure: { type: 'string' },
    out: { type: 'string' },
  },
});

if (values.measure) {
  // child: build the report, print figures as JSON
  const { buildReport } = await import('../reports/report.ts');
  const { repoRoot } = await import('../core/paths.ts');
  let heapPeak = 0;
  const timer = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
  const t0 = performance.now();
  const r = await buildReport({
    resultsDir: values.measure,
    outDir: values.out,
    topologyFile: path.join(repoRoot, 'topology', 'examples', 'local.yaml'),
    formats: values.formats!.split(',') as Array<'html' | 'md' | 'json' | 'pdf'>,
  });
  const wallMs = performance.now() - t0;
  clearInterval(timer);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  const sizes = Object.fromEntries(Object.entries(r.files).map(([k, f]) => [k, fs.statSync(f!).size]));
  process.stdout.write(
    JSON.stringify({
      wallMs,
      timings: r.timings,
      maxRssKb: process.resourceUsage().maxRSS,
      heapPeak,
      sizes,
      charts: r.model.charts.length,
      webCpuPerForm: r.model.calibration.costs.find((c) => c.key === 'web_cpu_per_form')?.value,
    }) + '\n',
  );
  process.exit(0);
}

const { writeSyntheticRun } = await import('./report-synthetic.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-bench-report-'));
const results = path.join(dir, 'results');
const tg = performance.now();
const counts = writeSyntheticRun(results, {
  seconds: Number(values.seconds),
  ratePerS: Number(values.rate),
  sampleEveryS: Number(values.every),
});
const genMs = performance.now() - tg;
const bytes = Object.fromEntries(fs.readdirSync(results).map((f) => [f, fs.statSync(path.join(results, f)).size]));
console.log(
  `synthetic results (NOT a run): ${values.seconds} s at ${values.rate}/s: ${counts.acks.toLocaleString()} acks (${(bytes['acks.ndjson']! / 1e6).toFixed(1)} MB), ` +
    `${counts.samples.toLocaleString()} samples (${(bytes['samples.ndjson']! / 1e6).toFixed(1)} MB), ${counts.timeseriesRows} timeseries rows; generated in ${(genMs / 1000).toFixed(1)} s`,
);

const self = fileURLToPath(import.meta.url);
const child = spawnSync(
  process.execPath,
  ['--import', 'tsx', self, '--measure', results, '--out', path.join(dir, 'report'), '--formats', values.formats!],
  { encoding: 'utf8', maxBuffer: 16 << 20 },
);
if (child.status !== 0) {
  console.error(child.stderr || child.stdout);
  process.exit(1);
}
const m = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
  wallMs: number;
  timings: Record<string, number>;
  maxRssKb: number;
  heapPeak: number;
  sizes: Record<string, number>;
  charts: number;
};
console.log(
  `report (${values.formats}): ${(m.wallMs / 1000).toFixed(2)} s wall; laps ${Object.entries(m.timings)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
    .join(', ')}`,
);
console.log(
  `peak memory (report process): RSS ${(m.maxRssKb / 1024).toFixed(0)} MB, JS heap ${(m.heapPeak / 1e6).toFixed(0)} MB; ${m.charts} charts; files ${Object.entries(
    m.sizes,
  )
    .map(([k, v]) => `${k} ${(v / 1e3).toFixed(0)} KB`)
    .join(', ')}`,
);
if (values.keep) console.log(`kept: ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });
