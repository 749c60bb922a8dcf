// The local stack treated as a remote deployment: every host is reached by an address of its own (127.0.1.5-8,
// TCP forwarders to the stack's ports), with its own node_exporter, a PostgreSQL role for monitoring only, the ES
// URL and the Kafka bootstrap; workers created through the API. `capacity workers create`, `capacity run` and
// `capacity report` run under a guard (strace of every process they start) that fails the test on any touch of
// the local stack's files or /proc. Collectors, pillow lag, liveness and per-row verdicts must all come through.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { repoRoot, stackPaths } from '../../core/paths.ts';
import { createPool } from '../../hq/index.ts';
import { testWebUser } from '../support/export-client.ts';
import type { StackContext } from '../../stack/component.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { pillowCollector } from '../../collectors/pillows.ts';
import { postgresCollector } from '../../collectors/postgres.ts';
import { runGuarded, type GuardedResult } from '../support/local-read-guard.ts';
import { ensureStackUp } from './stack-fixture.ts';

const WEB = '127.0.1.5';
const DB = '127.0.1.6';
const SEARCH = '127.0.1.7';
const QUEUE = '127.0.1.8';
const NODE_EXPORTER_PORT = 63100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP forwarder from address:port to the stack's port on 127.0.0.1: the "remote" host's service. */
function forward(address: string, port: number, to: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(to, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(server));
  });
}

async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await sleep(200);
  }
}

const guardOk = (r: GuardedResult, what: string) => {
  assert.deepEqual(r.violations, [], `${what} touched the local stack:\n${r.violations.slice(0, 20).join('\n')}`);
  assert.ok(r.checked > 1000, `${what}: the guard saw the paths touched (${r.checked})`);
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
};

describe('a remote-only run', { timeout: 900_000 }, () => {
  let ctx: StackContext;
  let admin: pg.Pool;
  const servers: net.Server[] = [];
  const exporters: ChildProcess[] = [];
  // secrets (API key, credentials, the topology's PostgreSQL password) apart from the results, which the suite scans
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-remote-'));
  const results = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-remote-results-'));
  const domain = `it-remote-${randomUUID().slice(0, 8)}`;
  const role = `capacity_monitor_${randomBytes(4).toString('hex')}`;
  const rolePassword = randomBytes(12).toString('hex');
  const home = stackPaths();
  // the child sees no hint of the local stack: no ports, nothing but what a remote run is given
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  let webEnv: NodeJS.ProcessEnv = {};

  before(async () => {
    ctx = await ensureStackUp();
    const p = ctx.config.ports;
    servers.push(
      await forward(WEB, p.nginx, p.nginx),
      await forward(DB, p.postgres, p.postgres),
      await forward(QUEUE, p.redis, p.redis),
      await forward(SEARCH, p.elasticsearch, p.elasticsearch),
      await forward(QUEUE, p.kafka, p.kafka),
    );
    for (const address of [WEB, DB, SEARCH, QUEUE]) {
      exporters.push(spawn('prometheus-node-exporter', [`--web.listen-address=${address}:${NODE_EXPORTER_PORT}`], { stdio: 'ignore' }));
      await waitForHttp(`http://${address}:${NODE_EXPORTER_PORT}/metrics`);
    }
    admin = createPool(postgresUrl(ctx), 1);
    // monitoring only: pg_monitor, and reading HQ's pillow checkpoints (the one table pillow lag needs)
    await admin.query(`create role ${role} login password '${rolePassword}'`);
    await admin.query(`grant pg_monitor to ${role}`);
    await admin.query(`grant select on pillowtop_kafkacheckpoint to ${role}`);
    // the hosting team's web user: its API key provisions the workers, and exports and data API pages run as it
    const web = await testWebUser(admin, domain);
    const [webUser, webKey] = web.apiKey.replace(/^ApiKey /, '').split(':') as [string, string];
    fs.writeFileSync(path.join(dir, 'api-key'), `${webUser}:${webKey}\n`, { mode: 0o600 });
    webEnv = { CAPACITY_WEB_USER: webUser, CAPACITY_WEB_PASSWORD: 'pw-admin', CAPACITY_API_KEY: webKey };
  });

  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const e of exporters) e.kill('SIGTERM');
    for (const s of servers) s.close();
    if (admin) {
      await admin.query(`drop owned by ${role}`).catch(() => undefined);
      await admin.query(`drop role if exists ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('workers, run, collectors, pillow lag, liveness and a report with per-row verdicts, reading nothing local', async () => {
    const p = ctx.config.ports;
    const front = `http://${WEB}:${p.nginx}`;
    const cli = path.join(repoRoot, 'capacity');
    const creds = path.join(dir, 'creds.csv');

    // the deployment as a commcare-cloud inventory (the run) and as a YAML topology with VM rows (the report)
    const inv = path.join(dir, 'inventory');
    fs.mkdirSync(inv);
    fs.writeFileSync(
      path.join(inv, 'inventory.ini'),
      [
        `[proxy]\n${WEB} hostname=web1 proxy_port=${p.nginx}`,
        `[webworkers]\n${WEB}`,
        `[postgresql]\n${DB} hostname=db1 postgresql_port=${p.postgres}`,
        `[elasticsearch]\n${SEARCH} hostname=search1 elasticsearch_port=${p.elasticsearch}`,
        `[kafka]\n${QUEUE} hostname=queue1 kafka_port=${p.kafka}`,
        `[redis]\n${QUEUE} redis_port=${p.redis}`,
        `[pillowtop]\n${QUEUE}`,
        `[all:vars]\nnode_exporter_port=${NODE_EXPORTER_PORT}`,
      ].join('\n') + '\n',
    );
    const yaml = path.join(dir, 'topology.yaml');
    fs.writeFileSync(
      yaml,
      `name: remote-rehearsal
rows:
  - { name: proxy, cores: 2, ram_gb: 4, storage_gb: 20, vms: 1 }
  - { name: pg_main, cores: 4, ram_gb: 16, storage_gb: 200, vms: 1 }
  - { name: es_data, cores: 4, ram_gb: 16, storage_gb: 200, vms: 1 }
  - { name: kafka, cores: 2, ram_gb: 8, storage_gb: 100, vms: 1 }
hosts:
  - name: web1
    address: ${WEB}
    row: proxy
    node_exporter: ${NODE_EXPORTER_PORT}
    services: [{ kind: nginx, port: ${p.nginx} }, django]
  - name: db1
    address: ${DB}
    row: pg_main
    node_exporter: ${NODE_EXPORTER_PORT}
    services:
      - { kind: postgresql, port: ${p.postgres}, url: "postgres://${role}:${rolePassword}@${DB}:${p.postgres}/commcarehq" }
  - name: search1
    address: ${SEARCH}
    row: es_data
    node_exporter: ${NODE_EXPORTER_PORT}
    services: [{ kind: elasticsearch, port: ${p.elasticsearch} }]
  - name: queue1
    address: ${QUEUE}
    row: kafka
    node_exporter: ${NODE_EXPORTER_PORT}
    services: [{ kind: kafka, port: ${p.kafka} }, { kind: redis, port: ${p.redis} }, pillowtop]
`,
    );

    const made = await runGuarded(
      cli,
      [
        'workers',
        'create',
        '--target',
        front,
        '--count',
        '4',
        '--prefix',
        'rm',
        '--api-key-file',
        path.join(dir, 'api-key'),
        '--domain',
        domain,
        '--credentials',
        creds,
      ],
      { env, cwd: repoRoot, home },
    );
    guardOk(made, 'workers create');

    const ran = await runGuarded(
      cli,
      [
        'run',
        'mixed-day',
        '--target',
        front,
        '--credentials',
        creds,
        '--users',
        '4',
        '--domain',
        domain,
        '--rate',
        '3',
        '--duration',
        '25s',
        '--restore-ratio',
        '0.3',
        '--search-ratio',
        '0.2',
        '--topology',
        inv,
        '--es-url',
        `http://${SEARCH}:${p.elasticsearch}`,
        '--interval',
        '1s',
        '--liveness-every',
        '2',
        // what is tested is where the figures come from, not the latency a shared CI core gives
        '--p95-read',
        '5000',
        '--p95-write',
        '5000',
        '--p95-api',
        '10000',
        '--results',
        results,
      ],
      // the monitoring role's credentials for the inventory's PostgreSQL, as a hosting team gives them
      { env: { ...env, ...webEnv, PGUSER: role, PGPASSWORD: rolePassword, PGDATABASE: 'commcarehq' }, cwd: repoRoot, home },
    );
    guardOk(ran, 'run');
    assert.match(ran.stdout, /mixed-day against http:\/\/127\.0\.1\.5:\d+: PASSED/);
    const runDir = /results: (\S+)/.exec(ran.stdout)![1]!;

    const samples = fs
      .readFileSync(path.join(runDir, 'samples.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            source: string;
            host: string;
            metric: string;
            value: number;
            labels: Record<string, string>;
          },
      );
    const has = (source: string, host: string, metric?: RegExp) =>
      samples.some((s) => s.source === source && s.host === host && (!metric || metric.test(s.metric)) && !s.labels.error);
    for (const h of ['web1', 'db1', 'search1', 'queue1']) assert.ok(has('host', h, /cpu/), `node_exporter figures of ${h}`);
    assert.ok(
      has('postgres', 'db1', /^xact_commit_per_s$/) && has('postgres', 'db1', /^statement_calls_per_s$/),
      'PostgreSQL (and pg_stat_statements) through the monitoring role',
    );
    assert.ok(
      has('pillows', 'db1', /^offset_lag$/) && has('pillows', 'db1', /^time_lag_s$/),
      'pillow lag from the remote PostgreSQL and Kafka',
    );
    assert.ok(has('kafka', 'queue1'), 'Kafka');
    assert.ok(has('elasticsearch', 'search1'), 'Elasticsearch');
    assert.ok(has('nginx', 'web1'), 'nginx');
    assert.ok(has('redis', 'queue1'), 'Redis');
    assert.deepEqual(
      samples.filter((s) => s.labels.error).map((s) => `${s.source} ${s.host}: ${s.labels.error}`),
      [],
      'no collector failed',
    );
    assert.deepEqual(
      [...new Set(samples.map((s) => s.source).filter((s) => s === 'process' || s === 'local_store'))],
      [],
      'nothing local-only',
    );
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as {
      liveness: { searchable: number };
      acknowledged: number;
    };
    assert.ok(summary.acknowledged > 40, `forms acknowledged: ${summary.acknowledged}`);
    assert.ok(summary.liveness.searchable > 0, 'liveness followed in the remote Elasticsearch');

    const reported = await runGuarded(cli, ['report', runDir, '--topology', yaml, '--target-users', '2000', '--formats', 'html,md,json'], {
      env,
      cwd: repoRoot,
      home,
    });
    guardOk(reported, 'report');
    const report = JSON.parse(fs.readFileSync(path.join(runDir, 'report', 'report.json'), 'utf8')) as {
      verdicts: { row: { name: string }; verdict: string }[];
    };
    const verdicts = report.verdicts.map((v) => `${v.row.name} ${v.verdict}`);
    assert.deepEqual(report.verdicts.map((v) => v.row.name).sort(), ['es_data', 'kafka', 'pg_main', 'proxy']);
    // every row judged; the rows whose hosts run one measured service each get a verdict from this run's figures
    assert.ok(
      report.verdicts.every((v) => ['enough', 'short', 'oversized', 'not measured'].includes(v.verdict)),
      verdicts.join(', '),
    );
    for (const row of ['proxy', 'pg_main', 'es_data']) {
      assert.ok(['enough', 'short', 'oversized'].includes(report.verdicts.find((v) => v.row.name === row)!.verdict), verdicts.join(', '));
    }
    process.stderr.write(
      `remote-only: ${summary.acknowledged} forms acknowledged, ${samples.length} samples, verdicts: ${verdicts.join(', ')}\n`,
    );
  });

  it('a role with pg_monitor alone: PostgreSQL figures come, pillow lag names the one grant it lacks', async () => {
    const bare = `${role}_bare`;
    await admin.query(`create role ${bare} login password '${rolePassword}'`);
    await admin.query(`grant pg_monitor to ${bare}`);
    const p = ctx.config.ports;
    const url = `postgres://${bare}:${rolePassword}@${DB}:${p.postgres}/commcarehq`;
    const pillows = pillowCollector({ postgresUrl: url, kafkaBrokers: [`${QUEUE}:${p.kafka}`], host: 'db1' });
    const postgres = postgresCollector({ url, host: 'db1' });
    try {
      await assert.rejects(
        pillows.sample(new Date()),
        new RegExp(`permission denied for pillowtop_kafkacheckpoint: grant select on pillowtop_kafkacheckpoint to ${bare}$`),
      );
      const got = await postgres.sample(new Date());
      assert.ok(got.length > 5, `PostgreSQL figures through pg_monitor alone: ${got.map((s) => s.metric).join(', ')}`);
      assert.deepEqual(
        got.filter((s) => s.labels.error),
        [],
      );
    } finally {
      await pillows.close?.();
      await postgres.close?.();
      await admin.query(`drop role ${bare}`);
    }
  });

  it('the guard is real: a command that reads the local stack (its state and /proc) is caught', async () => {
    const r = await runGuarded(path.join(repoRoot, 'capacity'), ['stack', 'status'], { env: process.env, cwd: repoRoot, home });
    assert.ok(
      r.violations.some((v) => /reads \/proc: .*"\/proc\/\d+\/stat"/.test(v)),
      r.violations.slice(0, 5).join('\n'),
    );
    assert.ok(r.violations.some((v) => /touches the local stack's files: .*\/run\/stack\.json/.test(v)));
  });
});
