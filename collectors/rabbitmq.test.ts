// RabbitMQ is not in the local stack: the parsing is tested on management-API JSON, and the HTTP path
// (auth, URL, columns) against a small local server that answers like the management plugin.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { rabbitmqCollector, rabbitSamples, type RabbitOverview, type RabbitQueue } from './rabbitmq.ts';
import { RateTracker } from './rates.ts';
import type { Sample } from './types.ts';

const overview = JSON.parse(fs.readFileSync(new URL('./fixtures/rabbitmq-overview.json', import.meta.url), 'utf8')) as RabbitOverview;
const queues = JSON.parse(fs.readFileSync(new URL('./fixtures/rabbitmq-queues.json', import.meta.url), 'utf8')) as RabbitQueue[];
const val = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

/** The same reading `dt` seconds later with `n` more messages published to and delivered from celery. */
function later(n: number): { o: RabbitOverview; q: RabbitQueue[] } {
  const o = structuredClone(overview);
  o.message_stats!.publish! += n;
  o.message_stats!.deliver_get! += n;
  const q = structuredClone(queues);
  q[0]!.message_stats!.publish! += n;
  q[0]!.message_stats!.deliver_get! += n;
  return { o, q };
}

describe('rabbitSamples', () => {
  it('reads depths per queue and totals, rates from counters', () => {
    const rates = new RateTracker();
    const first = rabbitSamples(new Date(0), 'rabbit1', overview, queues, rates);
    assert.equal(val(first, 'messages'), 1507);
    assert.equal(val(first, 'messages_unacked'), 27);
    assert.equal(val(first, 'queue_messages', { queue: 'celery', vhost: 'commcarehq' }), 1450);
    assert.equal(val(first, 'queue_messages_ready', { queue: 'reminder_queue' }), 50);
    assert.equal(val(first, 'queue_consumers', { queue: 'celery@celery1.celery.pidbox' }), 1);
    assert.equal(val(first, 'publish_per_s'), undefined, 'no rate from one reading (the broker-side *_details.rate is not used)');
    const { o, q } = later(500);
    const s = rabbitSamples(new Date(5000), 'rabbit1', o, q, rates);
    assert.equal(val(s, 'publish_per_s'), 100);
    assert.equal(val(s, 'deliver_per_s'), 100);
    assert.equal(val(s, 'queue_publish_per_s', { queue: 'celery' }), 100);
    assert.equal(val(s, 'queue_publish_per_s', { queue: 'reminder_queue' }), 0);
    assert.ok(s.every((x) => x.source === 'rabbitmq' && x.host === 'rabbit1'));
  });
});

describe('rabbitmqCollector over HTTP', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ url: string; auth?: string }> = [];
  let publishOffset = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      if (req.headers.authorization !== `Basic ${Buffer.from('monitor:s3cret/x').toString('base64')}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"not_authorised","reason":"Login failed"}');
        return;
      }
      const { o, q } = later(publishOffset);
      const path = (req.url ?? '').split('?')[0];
      if (path === '/api/overview') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      else if (path === '/api/queues') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(q));
      else res.writeHead(404).end('{"error":"Object Not Found","reason":"Not Found"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('authenticates with the URL credentials, asks only for the columns it reads, and computes rates', async () => {
    const c = rabbitmqCollector({ url: `http://monitor:s3cret%2Fx@${base.slice(7)}/`, host: 'rabbit1' });
    await c.sample(new Date(0));
    publishOffset = 250;
    const s = await c.sample(new Date(2500));
    assert.equal(val(s, 'queue_messages', { queue: 'celery' }), 1450);
    assert.equal(val(s, 'publish_per_s'), 100);
    const q = seen.find((x) => x.url.startsWith('/api/queues'));
    assert.match(q!.url, /columns=name,vhost,messages,messages_ready,messages_unacknowledged,consumers,message_stats\.publish/);
  });

  it('fails with the HTTP status when the login is refused', async () => {
    const c = rabbitmqCollector({ url: `http://guest:guest@${base.slice(7)}/`, host: 'rabbit1' });
    await assert.rejects(c.sample(new Date()), /HTTP 401.*not_authorised/);
  });
});
