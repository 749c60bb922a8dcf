// How many submissions per second the harness drives per core of load generator, with real generated forms,
// against a trivial nginx endpoint (/sink/ answers 201 at once), beside a minimal k6 script and wrk posting the
// same bytes in the same run. Prints the rates, CPU seconds of each generator and the ratios.
// Run: node --import tsx bench/harness.ts [--requests 20000] [--seconds 15 (wrk)] [--vus 16]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureK6Bundle, prepareCorpus } from '../runner/corpus.ts';
import type { RunEnv } from '../scenarios/lib/params.ts';
import { k6Binary } from '../stack/components/k6.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { repoRoot } from '../stack/paths.ts';
import { loadStackContext, stackUp, stderrProgress } from '../stack/stack.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '15' }, vus: { type: 'string', default: '16' } } });
// k6 runs send a fixed number of requests (the corpus holds exactly that many forms); wrk runs for `seconds`.
const requests = Number(values.requests);
const seconds = Number(values.seconds);
const vus = Number(values.vus);
const ticks = os.constants.priority ? 100 : 100; // USER_HZ on Linux

/** Runs a command, returns its exit code and the CPU seconds it used (all threads), read from /proc while it runs. */
function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; cpuS: number; wallS: number; out: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let cpu = 0;
    const poll = setInterval(() => {
      try {
        const st = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        cpu = (Number(f[11]) + Number(f[12])) / ticks;
      } catch {
        // exited
      }
    }, 100);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? 1, cpuS: cpu, wallS: (Date.now() - t0) / 1000, out });
    });
  });
}

async function main(): Promise<void> {
  const ctx = loadStackContext({ progress: stderrProgress, createUser: true });
  await stackUp(ctx);
  const k6 = k6Binary(ctx);
  const base = nginxUrl(ctx);
  const probe = await fetch(`${base}/sink/x`, { method: 'POST', body: 'x' });
  if (probe.status !== 201) throw new Error(`${base}/sink/ answered ${probe.status}: restart nginx (capacity stack down nginx config is from an older version)`);

  const corpus = await prepareCorpus(ctx.paths.home, { app: 'household', users: 50, count: requests, seed: 424242, domain: 'bench' }, (m) => process.stderr.write(`[bench] ${m}\n`));
  await ensureK6Bundle();
  const users = JSON.parse(fs.readFileSync(path.join(corpus.dir, 'users.json'), 'utf8')) as { file: string }[];
  // The minimal script and wrk post one body of the corpus's mean size (the harness posts them all).
  const records = users.flatMap((u) => fs.readFileSync(path.join(corpus.dir, u.file), 'utf8').split('\n').filter(Boolean).slice(0, 20)
    .map((l) => JSON.parse(l) as { body64: string; contentType: string }));
  const mean = records.reduce((s, r) => s + r.body64.length, 0) / records.length;
  const first = records.reduce((best, r) => (Math.abs(r.body64.length - mean) < Math.abs(best.body64.length - mean) ? r : best));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  const bodyFile = path.join(tmp, 'body.bin');
  fs.writeFileSync(bodyFile, Buffer.from(first.body64, 'base64'));
  const bodyBytes = fs.statSync(bodyFile).size;

  const results: { name: string; requests: number; cpuS: number; wallS: number }[] = [];
  const k6Count = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { metrics: { http_reqs: { count: number } } }).metrics.http_reqs.count;

  // 1. the harness: the scenarios' submit() with the corpus
  const runEnv: RunEnv = { scenario: 'steady', baseUrl: `${base}/sink`, domain: 'bench', corpusDir: corpus.dir, shape: {}, ackLog: (process.env.BENCH_ACKLOG as 'all' | 'none') ?? 'all' };
  const s1 = path.join(tmp, 'harness.json');
  const r1 = await runMeasured(k6, ['run', '--quiet', '--summary-export', s1, '--log-output', `file=${path.join(tmp, 'console.ndjson')}`, '--log-format', 'json',
    path.join(repoRoot, 'bench', 'k6', 'harness-max.ts')], { CAPACITY_RUN: JSON.stringify(runEnv), BENCH_VUS: String(vus), BENCH_ITERATIONS: String(requests), K6_NO_USAGE_REPORT: 'true' });
  if (r1.code !== 0) throw new Error(`harness k6 run failed:\n${r1.out.slice(-2000)}`);
  results.push({ name: 'capacity (scenarios/lib submit)', requests: k6Count(s1), cpuS: r1.cpuS, wallS: r1.wallS });

  // 2. a minimal k6 script posting the same bytes
  const s2 = path.join(tmp, 'minimal.json');
  const r2 = await runMeasured(k6, ['run', '--quiet', '--summary-export', s2, path.join(repoRoot, 'bench', 'k6', 'minimal-post.ts')], {
    BENCH_BODY: bodyFile, BENCH_CONTENT_TYPE: first.contentType, BENCH_URL: `${base}/sink/a/bench/receiver/`, BENCH_VUS: String(vus),
    BENCH_ITERATIONS: String(requests), K6_NO_USAGE_REPORT: 'true' });
  if (r2.code !== 0) throw new Error(`minimal k6 run failed:\n${r2.out.slice(-2000)}`);
  results.push({ name: 'minimal k6 script', requests: k6Count(s2), cpuS: r2.cpuS, wallS: r2.wallS });

  // 3. wrk posting the same bytes (one thread, the same connection count)
  const lua = path.join(tmp, 'post.lua');
  fs.writeFileSync(lua, `local f = io.open("${bodyFile}", "rb")\nwrk.method = "POST"\nwrk.body = f:read("*all")\nf:close()\nwrk.headers["Content-Type"] = "${first.contentType}"\n`);
  const r3 = await runMeasured('wrk', ['-t1', `-c${vus}`, `-d${seconds}s`, '-s', lua, `${base}/sink/a/bench/receiver/`], {});
  if (r3.code !== 0) {
    results.push({ name: 'wrk (not run: install the Debian package wrk)', requests: 0, cpuS: 0, wallS: 1 });
  } else {
    const m = /(\d+) requests in/.exec(r3.out);
    results.push({ name: 'wrk', requests: Number(m?.[1] ?? 0), cpuS: r3.cpuS, wallS: seconds });
  }

  const minimal = results[1]!;
  const perCpu = (r: { requests: number; cpuS: number }) => (r.cpuS > 0 ? r.requests / r.cpuS : 0);
  console.log(`form body for minimal k6 and wrk: ${bodyBytes} bytes, the corpus's mean (household app, multipart); ${vus} connections; k6 runs ${requests} requests each (the harness every corpus form once), wrk ${seconds} s; against ${base}/sink/`);
  console.log('generator                          req/s    CPU s   req per CPU-second   vs minimal k6');
  for (const r of results) {
    console.log(`${r.name.padEnd(34)} ${(r.requests / r.wallS).toFixed(0).padStart(6)} ${r.cpuS.toFixed(1).padStart(8)} ${perCpu(r).toFixed(0).padStart(20)} ${(perCpu(r) / perCpu(minimal) * 100).toFixed(0).padStart(14)} %`);
  }
  console.log(`harness per core vs minimal k6 per core: ${(perCpu(results[0]!) / perCpu(minimal) * 100).toFixed(0)} % (target >= 80 %)`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
