// How many submissions per second the harness drives per core of load generator, with real generated forms,
// against a trivial nginx endpoint (/sink/ answers 201 at once), beside a minimal k6 script, Locust (FastHttpUser,
// bench/locustfile.py) and wrk posting a sample of the same corpus bodies with the same headers in the same run, and
// a minimal script posting every body of the corpus (each VU its own workers', as the harness does). The harness runs k6 as `capacity run` does: capacity's k6 build, whose
// submissions go through k6/x/capacity (k6x/), its request log into k6's console log file, summary export, REST API
// on a port of its own; and beside it the scenarios' JavaScript path, which stock k6 runs (a k8s archive's pods).
// Every k6 script runs on the same binary.
//
// CPU is read from /proc while each generator runs, and nginx's request counter says when requests flow: "load"
// is CPU-seconds while requests flow (the rate a generator sustains), "startup" is what it spent before the
// first request (k6 init: the harness maps the corpus's packs). Figures are medians of --repeat rounds. Targets
// (issue 19), printed PASS/MISS: >= 3x Locust per core, startup included; >= 60 % of wrk per core while load flows.
// Run: node --import tsx bench/harness.ts [--requests 24000] [--users 48] [--vus 16] [--seconds 10 (wrk)] [--repeat 3]
// (installs wrk and Locust first, through `scripts/bootstrap.sh --bench`, when they are missing)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureK6Bundle, prepareCorpus } from '../runner/corpus.ts';
import { freePort } from '../runner/k6progress.ts';
import type { WorkerPackIndex } from '../scenarios/lib/bodies.ts';
import { k6Binary } from '../stack/components/k6.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { locustVenv } from '../stack/bench-tools.ts';
import { repoRoot } from '../core/paths.ts';
import { loadStackContext, stackUp, stderrProgress } from '../stack/stack.ts';
import { measure, median, type Measured, pinApart, sinkRunEnv } from './measure.ts';
import { groupPids, ownedPid } from '../stack/process.ts';
import { ensureBenchTools } from './prerequisites.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '24000' },
    users: { type: 'string', default: '48' },
    vus: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
  },
});
const users = Number(values.users);
const vus = Number(values.vus);
if (users % vus !== 0) throw new Error('--users must be a multiple of --vus (every VU owns the same number of workers)');
const perWorker = Math.ceil(Number(values.requests) / users);
const perVu = perWorker * (users / vus);
const requests = perVu * vus;
const seconds = Number(values.seconds);
const repeat = Number(values.repeat);
const SAMPLE = 256;
async function main(): Promise<void> {
  // wrk and Locust run beside the harness: both come from `scripts/bootstrap.sh --bench`
  ensureBenchTools(['wrk', 'locust']); // before the stack and the corpus, which take minutes
  const ctx = loadStackContext({ progress: stderrProgress, createUser: true });
  const locust = path.join(locustVenv(ctx.paths.home), 'bin', 'locust');
  await stackUp(ctx);
  const k6 = k6Binary(ctx);
  const base = nginxUrl(ctx);
  const statusUrl = `${base}/nginx_status`;
  const probe = await fetch(`${base}/sink/x`, { method: 'POST', body: 'x' });
  if (probe.status !== 201)
    throw new Error(`${base}/sink/ answered ${probe.status}: restart nginx (capacity stack down; its config is from an older version)`);

  const corpus = await prepareCorpus(
    ctx.paths.home,
    { app: 'household', users, count: perWorker * users, seed: 424242, domain: 'bench' },
    (m) => process.stderr.write(`[bench] ${m}\n`),
  );
  await ensureK6Bundle();

  // A sample of the corpus's bodies, evenly spread over workers and timelines, for the minimal script and wrk.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  const packs = Array.from({ length: users }, (_, w) => ({
    bin: fs.readFileSync(path.join(corpus.dir, 'bodies', `w${w}.bin`)),
    index: JSON.parse(fs.readFileSync(path.join(corpus.dir, 'bodies', `w${w}.json`), 'utf8')) as WorkerPackIndex,
  }));
  const corpusBytes = packs.reduce((s, p) => s + p.bin.length, 0);
  const types: string[] = [];
  let sampleBytes = 0;
  for (let i = 0; i < SAMPLE; i++) {
    const p = packs[i % users]!;
    const j = Math.floor((i / SAMPLE) * p.index.lengths.length);
    const at = p.index.lengths.slice(0, j).reduce((s, n) => s + n, 0);
    const body = p.bin.subarray(at, at + p.index.lengths[j]!);
    fs.writeFileSync(path.join(tmp, `b${i}.bin`), body);
    types.push(p.index.types[j]!);
    sampleBytes += body.length;
  }
  fs.writeFileSync(path.join(tmp, 'types.json'), JSON.stringify(types));
  const url = `${base}/sink/a/bench/receiver/`;

  const k6Env = { K6_NO_USAGE_REPORT: 'true', BENCH_VUS: String(vus), BENCH_ITERATIONS_PER_VU: String(perVu) };
  const runEnv = sinkRunEnv(base, corpus.dir, vus);
  // the harness as `capacity run` runs k6 (options, thresholds, request log, summary export, REST API)
  const harness = (script: string, prefix: string) => async (i: number) =>
    measure(
      k6,
      [
        'run',
        '--quiet',
        '--summary-export',
        path.join(tmp, `${prefix}${i}.json`),
        '--address',
        `127.0.0.1:${await freePort()}`,
        '--console-output',
        path.join(tmp, `${prefix}${i}.ndjson`),
        '--log-format',
        'raw',
        path.join(repoRoot, 'bench', 'k6', script),
      ],
      { ...k6Env, CAPACITY_RUN: JSON.stringify(runEnv) },
      statusUrl,
    );
  // wrk posting the same sample, in turn (one thread, the same connection count)
  const lua = path.join(tmp, 'post.lua');
  fs.writeFileSync(
    lua,
    [
      `local types = {${types.map((t) => JSON.stringify(t)).join(',')}}`,
      'local reqs = {}',
      `for i = 0, ${SAMPLE - 1} do`,
      `  local f = io.open("${tmp}/b" .. i .. ".bin", "rb")`,
      // wrk.format adds no Host header of its own: without one nginx answers 400 and closes the connection
      `  reqs[i + 1] = wrk.format("POST", nil, { ["Host"] = "${new URL(url).host}", ["Content-Type"] = types[i + 1], ["Authorization"] = "Basic bWluOmltYWw=", ["X-OpenRosa-Version"] = "3.0" }, f:read("*all"))`,
      '  f:close()',
      'end',
      'local n = 0',
      'request = function()',
      '  n = n + 1',
      `  return reqs[(n % ${SAMPLE}) + 1]`,
      'end',
      '',
    ].join('\n'),
  );
  type Key = 'native' | 'js' | 'minimal' | 'corpus' | 'locust' | 'wrk';
  const generators: { key: Key; name: string; run: (i: number) => Promise<Measured> }[] = [
    // capacity's k6 build: submissions through k6/x/capacity (k6x/submit), as scenarios/native-run.ts makes them
    { key: 'native', name: 'capacity (as `capacity run` runs k6)', run: harness('harness-native.ts', 'h') },
    // the scenarios' JavaScript path, which stock k6 runs (a k8s archive's pods); here on the same binary as the rest
    { key: 'js', name: 'capacity, its JavaScript path', run: harness('harness-max.ts', 'j') },
    {
      key: 'minimal',
      name: 'minimal k6 script',
      run: () =>
        measure(
          k6,
          ['run', '--quiet', path.join(repoRoot, 'bench', 'k6', 'minimal-post.ts')],
          { ...k6Env, BENCH_BODY_DIR: tmp, BENCH_BODIES: String(SAMPLE), BENCH_URL: url },
          statusUrl,
        ),
    },
    {
      key: 'corpus',
      name: 'minimal k6, every corpus body',
      run: () =>
        measure(
          k6,
          ['run', '--quiet', path.join(repoRoot, 'bench', 'k6', 'minimal-corpus.ts')],
          { ...k6Env, BENCH_CORPUS_BODIES: path.join(corpus.dir, 'bodies'), BENCH_USERS: String(users), BENCH_URL: url },
          statusUrl,
        ),
    },
    {
      // Locust FastHttpUser (commcare-perf's engine): the same sample, headers and request count, no wait, one process
      key: 'locust',
      name: 'Locust FastHttpUser',
      run: () =>
        measure(
          locust,
          [
            '-f',
            path.join(repoRoot, 'bench', 'locustfile.py'),
            '--headless',
            '--users',
            String(vus),
            '--spawn-rate',
            String(vus),
            '--host',
            base,
            '--run-time',
            '300s',
            '--only-summary',
            '--loglevel',
            'WARNING',
          ],
          { BENCH_BODY_DIR: tmp, BENCH_BODIES: String(SAMPLE), BENCH_TOTAL: String(requests), BENCH_PATH: '/sink/a/bench/receiver/' },
          statusUrl,
          { limitS: 330 },
        ),
    },
    // wrk runs for --seconds, not a request count: its rate is read while load flows
    { key: 'wrk', name: 'wrk', run: () => measure('wrk', ['-t1', `-c${vus}`, `-d${seconds}s`, '-s', lua, url], {}, statusUrl) },
  ];
  // rounds: each generator once per round, so a machine that slows down mid-bench slows them all alike
  const results = new Map(generators.map((g) => [g.key, { name: g.name, m: [] as Measured[] }]));
  const nginxPid = ownedPid(ctx.paths.run, 'nginx');
  const pinned = pinApart(nginxPid ? groupPids(nginxPid) : []);
  process.on('exit', pinned.restore); // on success and on failure alike
  for (let i = 0; i < repeat; i++) {
    for (const g of generators) {
      process.stderr.write(`[bench] round ${i + 1}/${repeat}: ${g.name}\n`);
      const m = await g.run(i);
      if (m.code !== 0) throw new Error(`${g.name} failed (exit ${m.code}):\n${m.out.slice(-2000)}`);
      // wrk counts answers other than 2xx/3xx apart: every request must have been answered 201
      if (/Non-2xx or 3xx responses/.test(m.out)) throw new Error(`${g.name}: some answers were not 201:\n${m.out.slice(-2000)}`);
      if (g.key !== 'wrk' && m.sent < requests * 0.98)
        throw new Error(`${g.name}: nginx counted ${m.sent} requests of ${requests}:\n${m.out.slice(-2000)}`);
      results.get(g.key)!.m.push(m);
    }
    // the harness did its work: a request line for every request (but each VU's last batch, not written here)
    for (const prefix of ['h', 'j']) {
      const logged = fs
        .readFileSync(path.join(tmp, `${prefix}${i}.ndjson`), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"e":"receiver"')).length;
      if (logged < requests - vus * 64)
        throw new Error(`the harness (${prefix === 'h' ? 'native' : 'JavaScript'} path) logged ${logged} requests of ${requests}`);
    }
  }

  const r = (key: Key) => results.get(key)!.m;
  /** requests per CPU-second while load flows */
  const perCpu = (key: Key) => median(r(key).map((m) => m.requests / m.loadCpuS));
  /** requests per CPU-second of the whole run: startup and the end included */
  const perCpuAll = (key: Key) => median(r(key).map((m) => m.requests / m.totalCpuS));
  const minimal = perCpu('minimal');
  console.log(
    `corpus: ${corpus.manifest.count} forms (household app, multipart), ${users} workers, mean body ${(corpusBytes / corpus.manifest.count / 1024).toFixed(1)} KB, ` +
      `${(corpusBytes / 1e6).toFixed(0)} MB; the minimal k6 script, Locust and wrk post ${SAMPLE} of its bodies in turn (mean ${(sampleBytes / SAMPLE / 1024).toFixed(1)} KB)`,
  );
  console.log(
    `${vus} VUs / users / connections; each k6 and Locust run sends ${requests} requests, wrk runs ${seconds} s; median of ${repeat} rounds; ` +
      `against ${base}/sink/; CPU read from /proc; ${pinned.note}`,
  );
  console.log(
    'generator                                 req/s   load CPU s   req per CPU-s   vs minimal k6   startup CPU s   total CPU s   req per CPU-s, all',
  );
  for (const g of generators) {
    const ms = r(g.key);
    const col = (f: (m: Measured) => number, w: number, d = 2) => median(ms.map(f)).toFixed(d).padStart(w);
    console.log(
      `${g.name.padEnd(40)} ${col((m) => m.requests / m.loadWallS, 6, 0)} ${col((m) => m.loadCpuS, 12)} ${perCpu(g.key).toFixed(0).padStart(15)}` +
        ` ${((perCpu(g.key) / minimal) * 100).toFixed(0).padStart(13)} % ${col((m) => m.startupCpuS, 15)} ${col((m) => m.totalCpuS, 13)}` +
        ` ${g.key === 'wrk' ? '-'.padStart(20) : perCpuAll(g.key).toFixed(0).padStart(20)}`,
    );
  }
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const vsMinimal = perCpu('native') / minimal;
  const vsLocust = perCpuAll('native') / perCpuAll('locust');
  const vsWrk = perCpu('native') / perCpu('wrk');
  console.log(
    `capacity per core vs Locust per core, startup and end included: ${vsLocust.toFixed(2)}x (target >= 3x: ${verdict(vsLocust >= 3)}); ` +
      `while load flows ${(perCpu('native') / perCpu('locust')).toFixed(2)}x`,
  );
  console.log(`capacity per core vs wrk per core, while load flows: ${pct(vsWrk)} (target >= 60 %: ${verdict(vsWrk >= 0.6)})`);
  console.log(
    `capacity per core vs minimal k6 per core, while load flows: ${pct(vsMinimal)} (target >= 80 %: ${verdict(vsMinimal >= 0.8)}); ` +
      `${pct(perCpu('native') / perCpu('corpus'))} of the minimal script posting every corpus body; ` +
      `startup and end included: ${pct(perCpuAll('native') / perCpuAll('minimal'))}`,
  );
  console.log(
    `its JavaScript path, as stock k6 runs it (k6-operator pods): ${pct(perCpu('js') / minimal)} of minimal k6 ` +
      `(${pct(perCpu('js') / perCpu('corpus'))} of the minimal script posting every corpus body)`,
  );
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
