// The RabbitMQ collector against the stack's real broker: queue depth for a queue it was given messages on, then
// publish and deliver rates once they are consumed, as the management plugin counts them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { rabbitmqCollector } from '../../collectors/rabbitmq.ts';
import type { Sample } from '../../collectors/types.ts';
import type { StackContext } from '../../stack/component.ts';
import { rabbitmqManagementUrl, rabbitmqUrl } from '../../stack/components/rabbitmq.ts';
import { waitFor } from '../support/export-client.ts';
import { ensureStackUp } from './stack-fixture.ts';

const find = (xs: Sample[], metric: string, queue?: string) => xs.find((s) => s.metric === metric && (!queue || s.labels.queue === queue));

describe('collectors: RabbitMQ against the real broker', { timeout: 120_000 }, () => {
  let ctx: StackContext;
  let conn: ChannelModel;
  let ch: Channel;
  const queue = `it-rmq-${randomUUID().slice(0, 8)}`;

  before(async () => {
    ctx = await ensureStackUp();
    conn = await amqp.connect(rabbitmqUrl(ctx));
    ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
  });
  after(async () => {
    await ch.deleteQueue(queue).catch(() => undefined);
    await conn.close();
  });

  it('reads queue depth, then publish and deliver rates', async () => {
    const collector = rabbitmqCollector({ url: rabbitmqManagementUrl(ctx), host: 'localhost' });
    try {
      for (let i = 0; i < 30; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`));
      // the management plugin's figures trail by its statistics interval (2 s in the stack's config)
      const depth = await waitFor(
        'queue depth 30',
        async () => {
          const xs = await collector.sample(new Date());
          const v = find(xs, 'queue_messages', queue)?.value;
          return v === 30 ? xs : undefined;
        },
        30_000,
        500,
      );
      assert.equal(find(depth, 'queue_messages_ready', queue)?.value, 30);
      assert.ok((find(depth, 'messages')?.value ?? 0) >= 30);
      assert.ok((find(depth, 'connections')?.value ?? 0) >= 1);

      // one message by basic.get, so the deliver counter exists before the rest go (a rate needs two readings of it)
      const one = await ch.get(queue);
      assert.ok(one);
      ch.ack(one);
      await waitFor(
        'the deliver counter read twice',
        async () => {
          const xs = await collector.sample(new Date());
          return find(xs, 'queue_deliver_per_s', queue) !== undefined ? true : undefined;
        },
        30_000,
        500,
      );
      let got = 1;
      await ch.consume(queue, (m) => {
        if (m) {
          got++;
          ch.ack(m);
        }
      });
      await waitFor('all consumed', async () => (got === 30 ? true : undefined), 10_000, 50);
      const drained = await waitFor(
        'queue drained with rates',
        async () => {
          const xs = await collector.sample(new Date());
          return find(xs, 'queue_messages', queue)?.value === 0 && (find(xs, 'queue_deliver_per_s', queue)?.value ?? 0) > 0
            ? xs
            : undefined;
        },
        30_000,
        1000,
      );
      assert.equal(find(drained, 'queue_consumers', queue)?.value, 1);
      assert.ok((find(drained, 'deliver_per_s')?.value ?? 0) > 0);
      assert.ok(find(drained, 'publish_per_s') !== undefined);
    } finally {
      await collector.close?.();
    }
  });
});
