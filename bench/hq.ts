// Benchmark of the HQ-compatible service on the local stack (issue 4):
//   node --import tsx bench/hq.ts [--seconds 30] [--rates 60,90,120,150,180,240,300,360] [--users 600] [--sample 60]
//                                 [--restore-cases 10,100,1000] [--no-restore] [--keep-going]
// Brings the stack up, provisions a fresh population (random seed), then steps an open-model arrival rate
// through nginx and prints per step: offered and achieved forms/s, latency p50/p95/p99, errors, ack-to-searchable
// time (ES `xforms`, by search), and CPU seconds per form by component (from /proc, counted from the start of the
// step until the outbox and every pillow have caught up). Then restore latency for workers owning ~10/100/1000
// open cases. The load generator runs on the same cores; its own CPU is printed as "load generator".
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { kafkaBroker } from '../stack/components/kafka.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import { totalPillowLag, createPool, ensureMobileWorkers, type MobileWorkerAccount } from '../hq/index.ts';
import { loadStackContext, stackUp, stderrProgress } from '../stack/stack.ts';
import { basicAuth } from '../generators/requests.ts';
import { accountsOf, populationFor } from '../test/support/post-forms.ts';
import {
  CPU_GROUPS,
  cpuDelta,
  cpuSnapshot,
  percentile,
  RequestQueues,
  runStep,
  SearchablePoller,
  send,
  type CpuDelta,
} from './hq-driver.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    rates: { type: 'string', default: '60,90,120,150,180,240,300,360' },
    users: { type: 'string', default: '600' },
    sample: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    'restore-cases': { type: 'string', default: '10,100,1000' },
    'no-restore': { type: 'boolean', default: false },
    'keep-going': { type: 'boolean', default: false },
    app: { type: 'string', default: 'household' },
  },
});
const seconds = Number(values.seconds);
const rates = values
  .rates!.split(',')
  .map(Number)
  .filter((n) => n > 0);
const users = Number(values.users);
const sampleSize = Number(values.sample);

interface StepRow {
  rate: number;
  achieved: number;
  acks: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  errorKinds: string;
  dropped: number;
  search50: number;
  search95: number;
  searchMissed: number;
  cpu: CpuDelta;
  cpuDuringStep: CpuDelta;
  drainMs: number;
  /** Forms the stack received in the CPU window (all domains: others may be using the stack too). */
  formsInWindow: number;
}

async function formsReceived(pool: pg.Pool, from: string, to: string): Promise<number> {
  const res = await pool.query(
    'select count(*)::int as n from form_processor_xforminstancesql where received_on >= $1 and received_on <= $2',
    [from, to],
  );
  return Number(res.rows[0].n);
}

async function waitForFeed(pool: pg.Pool, brokers: string[], timeoutMs: number): Promise<{ lag: number; outbox: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outbox = Number((await pool.query('select count(*)::int as n from hq_change_outbox')).rows[0].n);
    const lag = outbox > 0 ? -1 : await totalPillowLag(pool, brokers);
    if ((outbox === 0 && lag === 0) || Date.now() > deadline) return { lag, outbox };
    await sleep(250);
  }
}

function caseBlocksForm(userId: string, username: string, n: number): string {
  const now = new Date().toISOString();
  const blocks: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    blocks.push(
      `<n0:case xmlns:n0="http://commcarehq.org/case/transaction/v2" case_id="${id}" date_modified="${now}" user_id="${userId}">` +
        `<n0:create><n0:case_type>household</n0:case_type><n0:case_name>Household ${i}</n0:case_name><n0:owner_id>${userId}</n0:owner_id></n0:create>` +
        `<n0:update><village>Village ${i % 17}</village><head_name>Person ${i}</head_name><members>${1 + (i % 7)}</members>` +
        `<phone>+2547${String(10_000_000 + i)}</phone><water_source>borehole</water_source><latrine>yes</latrine>` +
        `<visit_count>1</visit_count><last_visit>${now.slice(0, 10)}</last_visit></n0:update></n0:case>`,
    );
  }
  return (
    `<?xml version="1.0" ?><data xmlns="http://openrosa.org/formdesigner/capacity-bench-bulk-register" uiVersion="1" version="1" name="Bulk register">` +
    blocks.join('') +
    `<n1:meta xmlns:n1="http://openrosa.org/jr/xforms"><n1:deviceID>bench</n1:deviceID><n1:timeStart>${now}</n1:timeStart>` +
    `<n1:timeEnd>${now}</n1:timeEnd><n1:username>${username}</n1:username><n1:userID>${userId}</n1:userID>` +
    `<n1:instanceID>${randomUUID()}</n1:instanceID></n1:meta></data>`
  );
}

async function restoreCost(pool: pg.Pool, base: string, domain: string, counts: number[]): Promise<void> {
  const accounts: (MobileWorkerAccount & { cases: number })[] = counts.map((n) => ({
    username: `restore${n}`,
    userId: randomUUID().replaceAll('-', ''),
    password: `pw-${randomUUID()}`,
    deviceId: `bench-${n}`,
    cases: n,
  }));
  await ensureMobileWorkers(pool, domain, accounts);
  const target = (path: string) => `${base}/a/${domain}${path}`;
  for (const a of accounts) {
    // Cases go in through the receiver, in forms of at most 250 case blocks.
    for (let done = 0; done < a.cases; done += 250) {
      const xml = caseBlocksForm(a.userId, a.username, Math.min(250, a.cases - done));
      const res = await send(
        {
          method: 'POST',
          url: target('/receiver/'),
          headers: { Authorization: basicAuth(a.username, a.password), 'Content-Type': 'text/xml', 'X-OpenRosa-Version': '3.0' },
          body: xml,
        },
        120_000,
      );
      if (res.status !== 201) throw new Error(`provisioning ${a.username}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    }
  }
  console.log(
    '\nrestore cost (full restore through nginx, 20 restores per worker after 2 warm-ups; incremental: 10 with since=<last token>, nothing changed)',
  );
  console.log('open cases   cases in body   body KB   p50 ms   p95 ms   incremental p50 ms');
  for (const a of accounts) {
    const headers = { Authorization: basicAuth(a.username, a.password), 'X-OpenRosa-Version': '3.0' };
    const times: number[] = [];
    let bytes = 0;
    let inBody = 0;
    let token = '';
    for (let i = 0; i < 22; i++) {
      const t0 = performance.now();
      const res = await send({ method: 'GET', url: target(`/phone/restore/?version=2.0&device_id=${a.deviceId}`), headers }, 120_000);
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`restore ${a.username}: HTTP ${res.status}`);
      if (i > 1) times.push(ms);
      bytes = res.body.length;
      inBody = (res.body.match(/<case /g) ?? []).length;
      token = /<restore_id>([^<]+)<\/restore_id>/.exec(res.body)?.[1] ?? '';
    }
    const inc: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await send({ method: 'GET', url: target(`/phone/restore/?version=2.0&device_id=${a.deviceId}&since=${token}`), headers });
      inc.push(performance.now() - t0);
      token = /<restore_id>([^<]+)<\/restore_id>/.exec(res.body)?.[1] ?? token;
    }
    console.log(
      `${String(a.cases).padStart(10)}   ${String(inBody).padStart(13)}   ${f0(bytes / 1024).padStart(7)}   ${f1(percentile(times, 50)).padStart(6)}   ${f1(percentile(times, 95)).padStart(6)}   ${f1(percentile(inc, 50)).padStart(18)}`,
    );
  }
}

async function main(): Promise<void> {
  const ctx = loadStackContext({ progress: stderrProgress, createUser: true });
  await stackUp(ctx);
  const base = nginxUrl(ctx);
  const brokers = [kafkaBroker(ctx)];
  const pool = createPool(postgresUrl(ctx), 3);
  const seed = Math.floor(Math.random() * 1e9);
  const domain = `bench-${randomUUID().slice(0, 8)}`;
  const pop = populationFor(domain, users, seed, values.app);
  await ensureMobileWorkers(pool, domain, accountsOf(pop));
  say(`domain ${domain}, ${users} mobile workers, seed ${seed}, ${seconds} s per step, rates ${rates.join(', ')} forms/s`);
  const queues = new RequestQueues(pop, { baseUrl: base, domain });
  const poller = new SearchablePoller(elasticsearchUrl(ctx));

  // Idle baseline: what the stack burns with no load (ES, Kafka and pillow polling), to read the per-form figures against.
  await waitForFeed(pool, brokers, 60_000);
  const idleA = cpuSnapshot(ctx.paths.run);
  await sleep(5000);
  const idle = cpuDelta(idleA, cpuSnapshot(ctx.paths.run));

  const warm = Number(values.warmup);
  if (warm > 0) {
    queues.prepare(Math.ceil((30 * warm) / users) + 1);
    const w = await runStep(queues, users, 30, warm);
    say(`warm-up: ${w.acks.length} acks at 30 forms/s, p95 ${f0(percentile(w.latencies, 95))} ms`);
  }

  const rows: StepRow[] = [];
  for (const rate of rates) {
    await waitForFeed(pool, brokers, 120_000);
    queues.prepare(Math.ceil((rate * seconds) / users) + 2);
    const every = Math.max(1, Math.floor((rate * seconds) / sampleSize));
    let n = 0;
    const a = cpuSnapshot(ctx.paths.run);
    const from = new Date().toISOString();
    const r = await runStep(queues, users, rate, seconds, (ack) => {
      if (n++ % every === 0 && ack.formId) poller.add(ack.formId, ack.ackedAt);
    });
    const b = cpuSnapshot(ctx.paths.run);
    const t0 = Date.now();
    const feed = await waitForFeed(pool, brokers, 180_000);
    const drainMs = Date.now() - t0;
    const missed = await poller.drain(10_000);
    const c = cpuSnapshot(ctx.paths.run);
    const formsInWindow = await formsReceived(pool, from, new Date().toISOString());
    const search = poller.take();
    const errors = [...r.errors.values()].reduce((x, y) => x + y, 0);
    const row: StepRow = {
      rate,
      achieved: r.acks.length / (r.sendWindowMs / 1000),
      acks: r.acks.length,
      p50: percentile(r.latencies, 50),
      p95: percentile(r.latencies, 95),
      p99: percentile(r.latencies, 99),
      errors,
      errorKinds: [...r.errors].map(([k, v]) => `${k} x${v}`).join(', '),
      dropped: r.dropped,
      search50: percentile(search, 50),
      search95: percentile(search, 95),
      searchMissed: missed,
      cpu: cpuDelta(a, c),
      cpuDuringStep: cpuDelta(a, b),
      drainMs,
      formsInWindow,
    };
    rows.push(row);
    const s = row.cpuDuringStep;
    say(
      `step ${rate}/s: ${row.acks} acks, ${f1(row.achieved)}/s, p50 ${f0(row.p50)} p95 ${f0(row.p95)} p99 ${f0(row.p99)} ms, errors ${errors}` +
        `${row.dropped ? `, dropped ${row.dropped}` : ''}; searchable p50 ${f0(row.search50)} p95 ${f0(row.search95)} ms; ` +
        `machine ${f0((100 * s.machineBusy) / (s.seconds * s.cores))}% busy (stack ${f2(s.stack / s.seconds)} cores, load generator ${f2(s.self / s.seconds)}, other ${f2(s.other / s.seconds)}); feed drained in ${f1(drainMs / 1000)} s` +
        `${feed.lag !== 0 || feed.outbox !== 0 ? ` (NOT drained: outbox ${feed.outbox}, lag ${feed.lag})` : ''}`,
    );
    if (!values['keep-going'] && (row.p95 > 5000 || row.achieved < 0.7 * rate)) {
      say('saturated well past p95 1 s: stopping the ramp (use --keep-going to run every rate)');
      break;
    }
  }
  await poller.stop();

  console.log(
    `\nHQ-compatible service, ${domain} (${users} workers, app ${values.app}, seed ${seed}), ${seconds} s per step, open model through nginx`,
  );
  console.log('offered/s  achieved/s   acks   p50 ms   p95 ms   p99 ms  errors  searchable p50/p95 ms   CPU busy  load-gen cores');
  for (const r of rows) {
    const s = r.cpuDuringStep;
    console.log(
      `${String(r.rate).padStart(9)}  ${f1(r.achieved).padStart(10)}  ${String(r.acks).padStart(5)}  ${f0(r.p50).padStart(7)}  ${f0(r.p95).padStart(7)}  ${f0(r.p99).padStart(7)}  ${String(r.errors + r.dropped).padStart(6)}  ${`${f0(r.search50)} / ${f0(r.search95)}`.padStart(21)}  ${`${f0((100 * s.machineBusy) / (s.seconds * s.cores))}%`.padStart(8)}  ${f2(s.self / s.seconds).padStart(14)}`,
    );
    if (r.errorKinds || r.dropped) console.log(`           errors: ${r.errorKinds}${r.dropped ? ` dropped arrivals ${r.dropped}` : ''}`);
    if (r.searchMissed) console.log(`           ${r.searchMissed} sampled forms not searchable 10 s after the feed drained`);
  }
  const ok = rows.filter((r) => r.p95 < 1000 && r.errors === 0 && r.dropped === 0 && r.achieved >= 0.95 * r.rate);
  const best = ok.length ? ok.reduce((x, y) => (y.rate > x.rate ? y : x)) : undefined;
  console.log(
    best
      ? `\nsustained: ${best.rate} forms/s offered (${f1(best.achieved)} acked/s) with p95 ${f0(best.p95)} ms < 1 s; ack-to-searchable p50 ${f0(best.search50)} ms, p95 ${f0(best.search95)} ms`
      : '\nsustained: no step held p95 < 1 s without errors',
  );

  // CPU per form by component: from the step's start until the feed drained (pillow work included), divided by
  // every form the stack received in that window (others may be posting too).
  if (rows.length) {
    const groups = Object.keys(CPU_GROUPS);
    const short: Record<string, string> = {
      'web workers': 'web',
      postgres: 'pg',
      elasticsearch: 'es',
      kafka: 'kafka',
      'pillow-xform': 'p-xform',
      'pillow-case': 'p-case',
      'pillow-ucr': 'p-ucr',
      nginx: 'nginx',
      redis: 'redis',
    };
    console.log(
      '\nCPU ms per form, by component (step start until outbox and pillows drained; all forms the stack received in that window)',
    );
    console.log(`offered/s  ${groups.map((g) => (short[g] ?? g).padStart(7)).join(' ')}    stack  load-gen    other  forms(ours)`);
    for (const r of rows) {
      const forms = Math.max(r.acks, r.formsInWindow);
      const per = (v: number) => f2((1000 * v) / forms).padStart(7);
      console.log(
        `${String(r.rate).padStart(9)}  ${groups.map((g) => per(r.cpu.groups[g]!)).join(' ')}  ${per(r.cpu.stack)}  ${per(r.cpu.self).padStart(8)}  ${per(r.cpu.other)}  ${forms}(${r.acks})`,
      );
    }
    console.log(
      `idle burn, ms/s: ${groups.map((g) => `${short[g] ?? g} ${f0((1000 * idle.groups[g]!) / idle.seconds)}`).join(', ')}; stack ${f0((1000 * idle.stack) / idle.seconds)}`,
    );
    console.log(
      'load-gen: this process (HTTP client only, forms are rendered before each step) on the same cores; other: busy CPU of anything else on the machine',
    );
  }

  if (!values['no-restore']) {
    await restoreCost(
      pool,
      base,
      domain,
      values['restore-cases']!.split(',')
        .map(Number)
        .filter((n) => n > 0),
    );
  }
  await pool.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
