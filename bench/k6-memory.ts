// k6's memory and startup with the corpus in memory once (capacity's k6 build: k6/x/capacity maps the body packs
// once per process, shared by every VU) against a copy per VU (the scenarios' JavaScript path, which stock k6 runs
// and which capacity's build also took before the packs were mapped: each VU opens its workers' packs and slices
// them, k6 keeps every opened file), for corpora of about 100 MB and 1 GB of bodies (the household app's
// mean body shrinks as a worker's timeline grows: 2,880 forms of 48 workers are about 100 MB, 91,200 about 1 GB).
//
// Each k6 run is the harness as `capacity run` runs it (bench/k6/harness-*.ts, its options, request log and summary
// export) and sends every body of the corpus once to nginx's /sink/, so every page of the packs is touched. Peak:
// k6's VmHWM (the kernel's high-water mark of its resident memory, the mapped packs' pages included). Startup: k6's
// CPU-seconds before the first request reached nginx. Targets (issue 19): peak <= 1.3 x the bodies + 200 MB;
// startup <= 0.2 CPU-s per 100 MB of bodies. The machine is shared: CPU figures are noisy.
// Run: node --import tsx bench/k6-memory.ts [--forms 2880,91200] [--users 48] [--vus 16] [--repeat 1]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureK6Bundle, prepareCorpus } from '../runner/corpus.ts';
import { freePort } from '../runner/k6progress.ts';
import { k6Binary } from '../stack/components/k6.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { repoRoot } from '../core/paths.ts';
import { loadStackContext, stackUp, stderrProgress } from '../stack/stack.ts';
import { measure, median, type Measured, sinkRunEnv } from './measure.ts';

const { values } = parseArgs({
  options: {
    forms: { type: 'string', default: '2880,91200' },
    users: { type: 'string', default: '48' },
    vus: { type: 'string', default: '16' },
    repeat: { type: 'string', default: '1' },
  },
});
const forms = values.forms.split(',').map(Number);
const users = Number(values.users);
const vus = Number(values.vus);
const repeat = Number(values.repeat);
if (forms.some((s) => !(s > 0)) || users % vus !== 0 || !(repeat >= 1)) {
  console.error('bench: --forms are form counts (positive), --users a multiple of --vus, --repeat at least 1');
  process.exit(2);
}

const mb = (b: number) => b / 1e6;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

async function main(): Promise<void> {
  const ctx = loadStackContext({ progress: stderrProgress, createUser: true });
  await stackUp(ctx);
  const k6 = k6Binary(ctx);
  const base = nginxUrl(ctx);
  const statusUrl = `${base}/nginx_status`;
  await ensureK6Bundle();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-k6-memory-'));
  const rows: string[] = [];
  for (const count of forms) {
    const perWorker = Math.max(1, Math.round(count / users));
    const corpus = await prepareCorpus(
      ctx.paths.home,
      { app: 'household', users, count: perWorker * users, seed: 424242, domain: 'bench' },
      (m) => process.stderr.write(`[bench] ${m}\n`),
    );
    const bodies = fs
      .readdirSync(path.join(corpus.dir, 'bodies'))
      .filter((f) => f.endsWith('.bin'))
      .reduce((s, f) => s + fs.statSync(path.join(corpus.dir, 'bodies', f)).size, 0);
    const perVu = perWorker * (users / vus);
    const runEnv = sinkRunEnv(base, corpus.dir, vus);
    const run = async (script: string, i: number): Promise<Measured> => {
      const m = await measure(
        k6,
        [
          'run',
          '--quiet',
          '--summary-export',
          path.join(tmp, `summary-${i}.json`),
          '--address',
          `127.0.0.1:${await freePort()}`,
          '--console-output',
          path.join(tmp, `requests-${i}.ndjson`),
          '--log-format',
          'raw',
          path.join(repoRoot, 'bench', 'k6', script),
        ],
        {
          K6_NO_USAGE_REPORT: 'true',
          BENCH_VUS: String(vus),
          BENCH_ITERATIONS_PER_VU: String(perVu),
          CAPACITY_RUN: JSON.stringify(runEnv),
        },
        statusUrl,
        { limitS: 900 },
      );
      if (m.code !== 0) throw new Error(`k6 (${script}) failed:\n${m.out.slice(-2000)}`);
      if (m.sent < perVu * vus * 0.98) throw new Error(`k6 (${script}): nginx counted ${m.sent} requests of ${perVu * vus}`);
      return m;
    };
    const copies: Measured[] = [];
    const mapped: Measured[] = [];
    for (let i = 0; i < repeat; i++) {
      process.stderr.write(`[bench] ${mb(bodies).toFixed(0)} MB of bodies: a copy per VU, run ${i + 1}/${repeat}\n`);
      copies.push(await run('harness-max.ts', i));
      process.stderr.write(`[bench] ${mb(bodies).toFixed(0)} MB of bodies: one mapped copy, run ${i + 1}/${repeat}\n`);
      mapped.push(await run('harness-native.ts', i));
    }
    const peakTarget = 1.3 * mb(bodies) + 200;
    const startupTarget = (0.2 * mb(bodies)) / 100;
    for (const [name, ms] of [
      ['a copy per VU (before)', copies],
      ['one mapped copy (after)', mapped],
    ] as const) {
      const peak = median(ms.map((m) => m.hwmMb));
      const startup = median(ms.map((m) => m.startupCpuS));
      rows.push(
        `${mb(bodies).toFixed(0).padStart(6)} MB  ${String(perWorker * users).padStart(6)} forms  ${name.padEnd(24)}` +
          ` peak ${peak.toFixed(0).padStart(6)} MB (target <= ${peakTarget.toFixed(0)}: ${verdict(peak <= peakTarget)})` +
          `  startup ${startup.toFixed(2).padStart(5)} CPU-s (target <= ${startupTarget.toFixed(2)}: ${verdict(startup <= startupTarget)})` +
          `  ${(median(ms.map((m) => m.requests / m.loadCpuS)) || 0).toFixed(0)} req per CPU-s`,
      );
    }
  }
  console.log(
    `k6 ${vus} VUs, ${users} workers; every body sent once to ${base}/sink/; median of ${repeat} run(s) (a shared machine: CPU is noisy)`,
  );
  for (const r of rows) console.log(r);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
