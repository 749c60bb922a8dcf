// The compressed soak: the soak scenario's shape at 10x its rate (30 forms/s, restores 0.1 per form, one web user
// exporting every 90 s instead of 15 min) for --minutes (default 10) against the local stack, run as `capacity run
// soak` runs it. While it runs, k6's memory and every stack component's (the service's processes: web, pillows,
// celery; and the stores) are read from /proc every --interval seconds. It prints the second minute's mean against
// the last minute's per process, PASS when the last is within 10 % of the second (issue 19: memory stays flat),
// and draws the curves (reports/charts.ts) into .capacity/bench/soak-*-<time>.png, the samples beside them (.ndjson).
//
// k6's memory is read in two parts: its anonymous memory (Go's heap, the VUs' JavaScript, stacks: what would leak)
// and the corpus's pages it has mapped (k6/x/capacity maps the body packs, so they count in k6's RSS as they are
// first sent; page cache, bounded by the corpus, and dropped by the kernel under pressure). The flat-memory target
// holds on the first; the second is shown beside it.
// Run: node --import tsx bench/soak.ts [--minutes 10] [--factor 10] [--users 100] [--interval 5] [--seed 919191]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readAllProcStats, treeTotals } from '../collectors/local-stack.ts';
import { writeFileAtomic } from '../core/fs.ts';
import { repoRoot } from '../core/paths.ts';
import { renderChart, type LineSeries } from '../reports/charts.ts';
import { readPidRecord } from '../stack/process.ts';
import { components, loadStackContext, stackUp, stderrProgress } from '../stack/stack.ts';
import { flatness, type MemorySample } from './soak-flat.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    factor: { type: 'string', default: '10' },
    users: { type: 'string', default: '100' },
    interval: { type: 'string', default: '5' },
    seed: { type: 'string', default: '919191' },
  },
});
const minutes = Number(values.minutes);
const factor = Number(values.factor);
const intervalS = Number(values.interval);
if (!(minutes >= 3) || !(factor > 0) || !(intervalS >= 1) || !(Number(values.users) >= 1)) {
  console.error(
    'bench: --minutes at least 3 (the second minute and the last must not overlap), --factor > 0, --interval >= 1 s, --users >= 1',
  );
  process.exit(2);
}
// the soak scenario's defaults (scenarios/lib/shapes.ts): 3 forms/s, one export every 15 min
const rate = 3 * factor;
const exportIntervalS = Math.max(10, Math.round(900 / factor));
const TARGET = 0.1;

/** status fields of a process, kB (RssAnon, RssFile, RssShmem) */
function statusKb(pid: number): Record<string, number> | undefined {
  try {
    const out: Record<string, number> = {};
    for (const m of fs.readFileSync(`/proc/${pid}/status`, 'utf8').matchAll(/^(Rss\w+):\s+(\d+) kB/gm)) out[m[1]!] = Number(m[2]);
    return out;
  } catch {
    return undefined;
  }
}

/** the `k6 run` process under the runner (the runner may also run a short `k6 inspect`) */
function findK6(root: number): number | undefined {
  const all = readAllProcStats();
  const seen = [root];
  for (let i = 0; i < seen.length; i++) for (const s of all.values()) if (s.ppid === seen[i]) seen.push(s.pid);
  return seen.slice(1).find((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'k6' && argv[1] === 'run';
    } catch {
      return false;
    }
  });
}

async function main(): Promise<void> {
  const ctx = loadStackContext({ progress: stderrProgress, createUser: true });
  await stackUp(ctx);
  const outDir = path.join(ctx.paths.home, 'bench');
  const resultsDir = path.join(outDir, 'soak-results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const args = [
    'run',
    'soak',
    '--rate',
    String(rate),
    '--duration',
    `${minutes}m`,
    '--export-interval',
    `${exportIntervalS}s`,
    '--users',
    values.users,
    '--seed',
    values.seed,
    '--results',
    resultsDir,
    '--yes',
  ];
  process.stderr.write(`[bench] capacity ${args.join(' ')}\n`);
  const child = spawn(path.join(repoRoot, 'capacity'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    out += d;
    // the runner's progress lines, so a long run shows it is alive
    const last = String(d).trim().split('\n').at(-1);
    if (last) process.stderr.write(`[run] ${last.slice(0, 160)}\n`);
  });
  let code: number | undefined;
  child.on('close', (c) => (code = c ?? 1));
  // bounded: the corpus (generated on the first run), the run, its end; then it is stopped
  const limit = setTimeout(() => child.kill('SIGINT'), (minutes + 15) * 60_000);

  const samples: MemorySample[] = [];
  let k6Pid: number | undefined;
  let k6Start = 0;
  while (code === undefined) {
    k6Pid ??= child.pid ? findK6(child.pid) : undefined;
    if (k6Pid) {
      const now = Date.now();
      k6Start ||= now;
      const t = (now - k6Start) / 1000;
      const st = statusKb(k6Pid);
      if (st) {
        samples.push({ t, process: 'k6 (anonymous)', mb: ((st.RssAnon ?? 0) * 1024) / 1e6 });
        samples.push({ t, process: 'k6 (mapped corpus pages)', mb: (((st.RssFile ?? 0) + (st.RssShmem ?? 0)) * 1024) / 1e6 });
      }
      const all = readAllProcStats();
      for (const c of components()) {
        const rec = readPidRecord(ctx.paths.run, c.name);
        const tot = rec ? treeTotals(all, rec.pid) : undefined;
        if (tot) samples.push({ t, process: c.name, mb: tot.rssBytes / 1e6 });
      }
    }
    await new Promise((r) => setTimeout(r, intervalS * 1000));
  }
  clearTimeout(limit);
  if (!samples.length) throw new Error(`the run ended before k6 started (exit ${code}):\n${out.slice(-2000)}`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileAtomic(path.join(outDir, `soak-${stamp}.ndjson`), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  const rows = flatness(samples, TARGET);
  // judged: k6's own memory and the HQ-compatible service's processes; the stores are shown for what they are
  const judged = (p: string) => p === 'k6 (anonymous)' || /^(web|pillow|celery)-/.test(p);
  console.log(
    `compressed soak: ${rate} forms/s (${factor}x the soak's 3), restores 0.1 per form, one export every ${exportIntervalS} s, ` +
      `${minutes} min, ${values.users} workers; memory read every ${intervalS} s (RSS of each process tree; 2 shared cores, noisy)`,
  );
  console.log(`runner exit ${code}; its last lines:\n${out.trim().split('\n').slice(-6).join('\n')}`);
  console.log('process                     2nd minute MB   last minute MB   change   2nd half MB/min   within 10 %');
  for (const r of rows) {
    const v = judged(r.process) ? (r.ok ? 'PASS' : 'MISS') : '- (not a target)';
    console.log(
      `${r.process.padEnd(28)} ${r.second.toFixed(0).padStart(12)} ${r.last.toFixed(0).padStart(16)} ${`${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)} %`.padStart(8)} ${r.slope.toFixed(2).padStart(17)}   ${v}`,
    );
  }

  // the curves: k6's and the service's processes on one chart, the stores on another
  const series = (pick: (p: string) => boolean): LineSeries[] =>
    [...new Set(samples.map((s) => s.process))].filter(pick).map((p) => ({
      label: p,
      points: samples.filter((s) => s.process === p).map((s) => ({ x: s.t / 60, y: s.mb })),
      dashed: p === 'k6 (mapped corpus pages)',
    }));
  const charts = [
    {
      id: 'soak-k6-service',
      title: `Compressed soak (${rate} forms/s, ${minutes} min): k6 and the service, resident memory`,
      pick: (p: string) => p.startsWith('k6') || judged(p),
    },
    {
      id: 'soak-stores',
      title: `Compressed soak (${rate} forms/s, ${minutes} min): the stores and nginx, resident memory`,
      pick: (p: string) => !p.startsWith('k6') && !judged(p),
    },
  ];
  for (const c of charts) {
    const png = await renderChart({
      id: c.id,
      title: c.title,
      kind: 'line',
      xLabel: 'minutes since k6 started',
      yLabel: 'MB',
      series: series(c.pick),
    });
    const file = path.join(outDir, `${c.id}-${stamp}.png`);
    writeFileAtomic(file, png.png);
    console.log(`chart: ${file}`);
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
