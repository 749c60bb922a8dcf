// Each part of the local stack used for real: SQL, Kafka, Elasticsearch, nginx, and k6 running TypeScript.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Client as EsClient } from '@elastic/elasticsearch';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { StackContext } from '../../stack/component.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { k6Binary } from '../../stack/components/k6.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { rabbitmqNodeName } from '../../stack/components/rabbitmq.ts';
import { versions } from '../../stack/config.ts';
import { redisUrl } from '../../stack/components/redis.ts';
import { stackStatus } from '../../stack/stack.ts';
import { ensureStackUp } from './stack-fixture.ts';

describe('local stack', { timeout: 600_000 }, () => {
  let ctx: StackContext;
  before(async () => {
    ctx = await ensureStackUp();
  });

  it('reports every server running with a pid and memory', async () => {
    const rows = await stackStatus(ctx);
    for (const r of rows.filter((x) => x.name !== 'k6')) {
      assert.equal(r.state, 'running', `${r.name} is ${r.state}`);
      assert.ok(r.pid && r.pid > 0);
      assert.ok((r.rssBytes ?? 0) > 1024 * 1024, `${r.name} rss ${r.rssBytes}`);
    }
  });

  it('PostgreSQL: a SQL round trip, with pg_stat_statements loaded', async () => {
    const client = new pg.Client({ connectionString: postgresUrl(ctx) });
    await client.connect();
    try {
      const table = `it_${randomUUID().replaceAll('-', '')}`;
      await client.query(`create temp table ${table} (id text primary key, props jsonb)`);
      await client.query(`insert into ${table} values ($1, $2)`, ['case-1', { name: 'Amina', visits: 3 }]);
      const res = await client.query(`select props->>'name' as name, (props->>'visits')::int as visits from ${table}`);
      assert.deepEqual(res.rows, [{ name: 'Amina', visits: 3 }]);
      const lib = await client.query('show shared_preload_libraries');
      assert.match(lib.rows[0].shared_preload_libraries, /pg_stat_statements/);
      const stmts = await client.query('select count(*)::int as n from pg_stat_statements');
      assert.ok(stmts.rows[0].n > 0);
    } finally {
      await client.end();
    }
  });

  it('Kafka: a message produced and consumed with kafkajs', async () => {
    const kafka = new Kafka({ clientId: 'capacity-it', brokers: [kafkaBroker(ctx)], logLevel: logLevel.NOTHING });
    const topic = `it-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    const value = JSON.stringify({ id: randomUUID(), doc_type: 'XFormInstance' });
    await producer.send({ topic, messages: [{ key: 'k1', value }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `it-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(t);
          resolve(message.value!.toString());
        },
      });
    });
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    assert.equal(got, value);
  });

  it('Elasticsearch: a document indexed and found', async () => {
    const es = new EsClient({ node: elasticsearchUrl(ctx) });
    const index = `it-${randomUUID()}`;
    await es.index({ index, id: 'form-1', document: { domain: 'demo', xmlns: 'http://openrosa.org/formdesigner/x' }, refresh: 'wait_for' });
    const res = await es.search({ index, query: { term: { domain: 'demo' } } });
    assert.equal(res.hits.hits.length, 1);
    assert.equal(res.hits.hits[0]!._id, 'form-1');
    assert.equal((await es.count({ index })).count, 1);
    await es.indices.delete({ index });
  });

  it('Redis: a key written and read', async () => {
    const client = new Redis(redisUrl(ctx));
    const key = `it:${randomUUID()}`;
    await client.set(key, 'v', 'EX', 30);
    assert.equal(await client.get(key), 'v');
    await client.quit();
  });

  it('RabbitMQ: its own node, on the ports it was given (AMQP, management, Erlang distribution), management on', async () => {
    const res = await fetch(`http://${ctx.config.host}:${ctx.config.ports.rabbitmqManagement}/api/overview`, {
      headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    assert.equal(res.status, 200);
    const o = (await res.json()) as { node: string; rabbitmq_version: string; listeners: { protocol: string; port: number }[] };
    assert.equal(o.node, rabbitmqNodeName(ctx));
    assert.match(o.rabbitmq_version, new RegExp(`^${versions.rabbitmq.replace('.', '\\.')}\\.`));
    const port = (protocol: string) => o.listeners.find((l) => l.protocol === protocol)?.port;
    assert.equal(port('amqp'), ctx.config.ports.rabbitmq);
    assert.equal(port('http'), ctx.config.ports.rabbitmqManagement);
    assert.equal(port('clustering'), ctx.config.ports.rabbitmqDist);
  });

  it('nginx: answers on the front door with stub_status', async () => {
    const health = await fetch(`${nginxUrl(ctx)}/healthz`);
    assert.equal(health.status, 200);
    const status = await (await fetch(`${nginxUrl(ctx)}/nginx_status`)).text();
    assert.match(status, /Active connections: \d+/);
    assert.match(status, /server accepts handled requests\n \d+ \d+ \d+/);
  });

  it('k6 runs a TypeScript script against nginx', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-k6-'));
    const script = path.join(dir, 'probe.ts');
    fs.writeFileSync(
      script,
      `import http from 'k6/http';
import { check } from 'k6';
interface Probe { url: string }
const probe: Probe = { url: __ENV.TARGET + '/healthz' };
export const options = { iterations: 20, vus: 2, thresholds: { checks: ['rate==1'] } };
export default function (): void {
  const res = http.get(probe.url);
  check(res, { 'status 200': (r) => r.status === 200, 'body ok': (r) => String(r.body).trim() === 'ok' });
}
`,
    );
    const summary = path.join(dir, 'summary.json');
    const res = spawnSync(
      k6Binary(ctx),
      ['run', '--quiet', '--no-usage-report', '-e', `TARGET=${nginxUrl(ctx)}`, '--summary-export', summary, script],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(res.status, 0, res.stderr + res.stdout);
    const data = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.equal(data.metrics.http_reqs.count, 20);
    assert.equal(data.metrics.checks.passes, 40);
    assert.equal(data.metrics.checks.fails, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
