// The whole set of collectors on the local stack, sources that are down (gaps, never zeros), a source that
// stops and comes back, node_exporter against /proc, and `capacity collect` end to end.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { hostCollector } from '../../collectors/host.ts';
import { localTargets, startCollectors, type CollectorTargets } from '../../collectors/index.ts';
import { redisCollector } from '../../collectors/redis.ts';
import type { Sample } from '../../collectors/types.ts';
import { collect } from '../../collectors/collect.ts';
import type { StackContext } from '../../stack/component.ts';
import { ensureStackUp } from './stack-fixture.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readSamples = (f: string): Sample[] =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sample);
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'collectors-it-'));

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForPort(port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not open`);
}

describe('collectors: the local stack and its failures', { timeout: 180_000 }, () => {
  let ctx: StackContext;
  before(async () => {
    ctx = await ensureStackUp();
  });

  it('every local source is read at a 1 s interval, with no gaps', async () => {
    const out = path.join(tmpDir(), 'samples.ndjson');
    const run = startCollectors(localTargets(ctx), { intervalMs: 1000, outFile: out });
    await sleep(3300);
    await run.stop();
    const all = readSamples(out);
    assert.deepEqual(
      all.filter((s) => s.gap),
      [],
      'no gaps',
    );
    for (const source of [
      'host',
      'postgres',
      'pillows',
      'kafka',
      'elasticsearch',
      'redis',
      'rabbitmq',
      'nginx',
      'process',
      'local_store',
    ]) {
      assert.ok(
        all.some((s) => s.source === source),
        `${source} wrote samples`,
      );
    }
    // CPU per celery worker process, and the export totals
    assert.ok(
      all.some(
        (s) => s.source === 'process' && s.metric === 'cpu_seconds' && s.labels.service === 'celery' && s.labels.process === 'celery-1',
      ),
    );
    assert.ok(all.some((s) => s.source === 'local_store' && s.metric === 'exported_rows'));
    // rates appear from the second tick on
    for (const [source, metric] of [
      ['host', 'cpu_busy_pct'],
      ['postgres', 'tps'],
      ['elasticsearch', 'indexing_per_s'],
      ['redis', 'commands_per_s'],
      ['nginx', 'requests_per_s'],
    ]) {
      assert.ok(
        all.some((s) => s.source === source && s.metric === metric),
        `${source} ${metric}`,
      );
    }
    assert.equal(new Set(all.filter((s) => s.source === 'sampler').map((s) => s.ts)).size, run.stats.ticks);
    assert.ok(run.stats.ticks >= 4);
  });

  it('sources that are down are gaps with the error, never zeros, and the others carry on', async () => {
    const [pgPort, kafkaPort, esPort, redisPort, nginxPort, nePort, rabbitPort] = await Promise.all(Array.from({ length: 7 }, closedPort));
    const targets: CollectorTargets = {
      postgres: [{ url: `postgres://capacity:capacity@127.0.0.1:${pgPort}/commcarehq`, host: 'db-down' }],
      pillows: [
        {
          postgresUrl: `postgres://capacity:capacity@127.0.0.1:${pgPort}/commcarehq`,
          kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
          host: 'db-down',
        },
      ],
      kafka: [{ brokers: [`127.0.0.1:${kafkaPort}`], host: 'kafka-down' }],
      elasticsearch: [{ url: `http://127.0.0.1:${esPort}`, host: 'es-down' }],
      redis: [{ url: `redis://127.0.0.1:${redisPort}`, host: 'redis-down' }],
      nginx: [{ statusUrl: `http://127.0.0.1:${nginxPort}/nginx_status`, host: 'nginx-down' }],
      rabbitmq: [{ url: `http://guest:guest@127.0.0.1:${rabbitPort}/`, host: 'rabbit-down' }],
      hosts: [{ host: 'vm-down', nodeExporterUrl: `http://127.0.0.1:${nePort}/metrics` }, { host: 'localhost' }],
    };
    const out = path.join(tmpDir(), 'samples.ndjson');
    const run = startCollectors(targets, { intervalMs: 1000, outFile: out, timeoutMs: 4000 });
    await sleep(2300);
    await run.stop();
    const all = readSamples(out);
    const downHosts = ['db-down', 'kafka-down', 'es-down', 'redis-down', 'nginx-down', 'rabbit-down', 'vm-down'];
    for (const host of downHosts) {
      const mine = all.filter((s) => s.host === host && s.source !== 'sampler');
      assert.ok(mine.length > 0, `${host}: something recorded`);
      for (const s of mine) {
        assert.equal(s.gap, true, `${host}: ${JSON.stringify(s)}`);
        assert.equal(s.metric, 'gap');
        assert.match(s.error ?? '', /ECONNREFUSED|Connection error|connect/i, `${host}: ${s.error}`);
      }
    }
    const local = all.filter((s) => s.host === 'localhost' && s.source === 'host');
    assert.ok(
      local.some((s) => s.metric === 'cpu_busy_pct'),
      'the working source carried on',
    );
    assert.ok(!local.some((s) => s.gap));
  });

  it('a source that stops shows as a gap while it is down and is read again when it comes back', async (t) => {
    const redisServer = '/usr/bin/redis-server';
    if (!fs.existsSync(redisServer)) return t.skip('redis-server is not installed');
    const port = await closedPort();
    const startRedis = async (): Promise<ChildProcess> => {
      const p = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await waitForPort(port);
      return p;
    };
    let server = await startRedis();
    const c = redisCollector({ url: `redis://127.0.0.1:${port}`, host: 'cache1' }, { timeoutMs: 1000 });
    const out = path.join(tmpDir(), 'samples.ndjson');
    const marks: Array<{ phase: string; ts: number }> = [];
    const run = startCollectors([c], { intervalMs: 400, outFile: out, timeoutMs: 1500 });
    try {
      await sleep(1000);
      marks.push({ phase: 'killing', ts: Date.now() });
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      marks.push({ phase: 'down', ts: Date.now() });
      await sleep(1500);
      marks.push({ phase: 'restarting', ts: Date.now() });
      server = await startRedis();
      await sleep(2500);
    } finally {
      await run.stop();
      server.kill('SIGKILL');
    }
    const all = readSamples(out).filter((s) => s.source === 'redis');
    const at = (s: Sample) => Date.parse(s.ts);
    const [killing, down, restarting] = marks.map((m) => m.ts) as [number, number, number];
    const before = all.filter((s) => at(s) < killing);
    const during = all.filter((s) => at(s) > down + 100 && at(s) < restarting);
    const afterUp = all.filter((s) => at(s) > restarting + 1500);
    assert.ok(before.length > 0 && before.every((s) => !s.gap), 'read while up');
    assert.ok(during.length > 0 && during.every((s) => s.gap), `only gaps while down: ${JSON.stringify(during.filter((s) => !s.gap))}`);
    assert.ok(!during.some((s) => s.metric === 'connected_clients'), 'no zeros while down');
    assert.ok(
      afterUp.some((s) => s.metric === 'connected_clients' && s.value >= 1),
      'read again once back',
    );
  });

  it('node_exporter and /proc agree on this machine', async (t) => {
    const bin = '/usr/bin/prometheus-node-exporter';
    if (!fs.existsSync(bin)) return t.skip('prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)');
    const port = await closedPort();
    const ne = spawn(bin, [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      await waitForPort(port);
      const viaNe = hostCollector({ host: 'me', nodeExporterUrl: `http://127.0.0.1:${port}/metrics` });
      const viaProc = hostCollector({ host: 'me' });
      const now = new Date();
      const [a, b] = await Promise.all([viaNe.sample(now), viaProc.sample(now)]);
      const v = (xs: Sample[], m: string, l: Record<string, string> = {}) =>
        xs.find((s) => s.metric === m && Object.entries(l).every(([k, x]) => s.labels[k] === x))?.value;
      assert.equal(v(a, 'cpus'), v(b, 'cpus'));
      assert.equal(v(a, 'mem_total_bytes'), v(b, 'mem_total_bytes'));
      assert.equal(v(a, 'fs_size_bytes', { mountpoint: '/' }), v(b, 'fs_size_bytes', { mountpoint: '/' }));
      assert.ok(Math.abs(v(a, 'mem_available_bytes')! - v(b, 'mem_available_bytes')!) / v(b, 'mem_total_bytes')! < 0.05);
      assert.ok(a.every((s) => s.labels.via === 'node_exporter') && b.every((s) => s.labels.via === 'proc'));
    } finally {
      ne.kill();
    }
  });

  it('capacity collect watches the local stack and writes samples.ndjson', async () => {
    const dir = tmpDir();
    const lines: string[] = [];
    const res = await collect({ durationMs: 2500, intervalMs: 1000, outDir: dir, print: (l) => lines.push(l) });
    const samples = readSamples(res.outFile);
    assert.equal(res.outFile, path.join(dir, 'samples.ndjson'));
    assert.ok(samples.length > 100);
    assert.match(
      lines[0]!,
      /^watching postgres 1, pillows 1, kafka 1, elasticsearch 1, redis 1, rabbitmq 1, nginx 1, hosts 1, processes 1, localStores 1 every 1 s for 2\.5 s/,
    );
    assert.ok(
      lines.some((l) => /\| pg \d+ tps/.test(l)),
      lines.join('\n'),
    );
    assert.match(lines[lines.length - 1]!, /^\d+ ticks, \d+ samples, 0 gaps ->/);

    // the command itself, in a process of its own
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
    const dir2 = tmpDir();
    const ok = cli(['collect', '--duration', '1500ms', '--interval', '500ms', '--out', dir2]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(readSamples(path.join(dir2, 'samples.ndjson')).length > 50);
    const bad = cli(['collect', '--interval', 'soon']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), 'capacity: --interval: "soon" is not a duration (e.g. 30s, 5m, 1h30m)');
  });
});
