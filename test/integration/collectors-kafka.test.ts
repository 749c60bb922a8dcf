// Pillow lag and consumer-group lag against the real Kafka, checked against Kafka's own tools
// (GetOffsetShell for end offsets, ConsumerGroupCommand for group lag).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import { kafkaCollector } from '../../collectors/kafka.ts';
import { pillowCollector } from '../../collectors/pillows.ts';
import type { Sample } from '../../collectors/types.ts';
import type { StackContext } from '../../stack/component.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { versions } from '../../stack/config.ts';
import { copyArtifact } from '../../stack/maven.ts';
import { ensureStackUp } from './stack-fixture.ts';

const find = (xs: Sample[], metric: string, labels: Record<string, string>) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** Kafka's command-line tools live in kafka-tools, which the broker does not need: fetched once into the cache. */
async function kafkaToolsClasspath(ctx: StackContext): Promise<string> {
  const dir = path.join(ctx.paths.home, 'cache', `kafka-tools-${versions.kafka}`);
  if (!fs.existsSync(path.join(dir, `kafka-tools-${versions.kafka}.jar`))) {
    await copyArtifact(`org.apache.kafka:kafka-tools:${versions.kafka}:jar`, dir, ctx.paths.m2);
  }
  return `${path.join(ctx.paths.home, `kafka-${versions.kafka}`, 'libs', '*')}:${path.join(dir, '*')}`;
}

function kafkaTool(cp: string, cls: string, args: string[]): string {
  const r = spawnSync('java', ['-cp', cp, cls, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${cls} failed: ${r.stderr}`);
  return r.stdout;
}

describe("collectors: Kafka and pillow lag against Kafka's own tools", { timeout: 120_000 }, () => {
  let ctx: StackContext;
  let admin: Admin;
  let db: pg.Client;
  let cp: string;
  const topic = `cap-lag-${randomUUID().slice(0, 8)}`;
  const pillow = `it-pillow-${randomUUID().slice(0, 8)}`;
  const group = `it-group-${randomUUID().slice(0, 8)}`;
  const produced = [25, 40, 7]; // N per partition
  const checkpoint = [10, 40, 0]; // M per partition

  before(async () => {
    ctx = await ensureStackUp();
    cp = await kafkaToolsClasspath(ctx);
    const kafka = new Kafka({ clientId: 'capacity-it', brokers: [kafkaBroker(ctx)], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    for (let p = 0; p < produced.length; p++) {
      const messages = Array.from({ length: produced[p]! }, (_, i) => ({
        key: `doc-${p}-${i}`,
        value: JSON.stringify({ i }),
        partition: p,
      }));
      await producer.send({ topic, messages });
    }
    await producer.disconnect();
    db = new pg.Client({ connectionString: postgresUrl(ctx) });
    await db.connect();
    const schema = fs.readFileSync(new URL('../../hq/schema.sql', import.meta.url), 'utf8');
    const create = /create table if not exists pillowtop_kafkacheckpoint \([^;]*\);/s.exec(schema);
    assert.ok(create, 'schema.sql defines pillowtop_kafkacheckpoint');
    await db.query(create[0]);
    for (let p = 0; p < checkpoint.length; p++) {
      // partition 0's last checkpointed change was made 42 s ago; the others record no doc time
      await db.query(
        `insert into pillowtop_kafkacheckpoint (checkpoint_id, topic, partition, "offset", doc_modification_time, last_modified)
         values ($1, $2, $3, $4, case when $3 = 0 then now() - interval '42 seconds' end, now() - interval '3 seconds')`,
        [pillow, topic, p, checkpoint[p]],
      );
    }
  });

  after(async () => {
    await db?.query('delete from pillowtop_kafkacheckpoint where checkpoint_id = $1', [pillow]).catch(() => undefined);
    await db?.end();
    await admin?.deleteGroups([group]).catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('offset lag per partition = end offset (GetOffsetShell) - checkpoint offset', async () => {
    const shell = kafkaTool(cp, 'org.apache.kafka.tools.GetOffsetShell', ['--bootstrap-server', kafkaBroker(ctx), '--topic', topic]);
    const ends = new Map(
      shell
        .trim()
        .split('\n')
        .filter((l) => l.startsWith(`${topic}:`))
        .map((l) => l.split(':'))
        .map(([, p, o]) => [Number(p), Number(o)]),
    );
    assert.deepEqual(
      [...ends.entries()].sort(),
      produced.map((n, p) => [p, n]),
      'GetOffsetShell sees what was produced',
    );

    const c = pillowCollector({ postgresUrl: postgresUrl(ctx), kafkaBrokers: [kafkaBroker(ctx)], host: 'localhost', pillows: [pillow] });
    try {
      const s = await c.sample(new Date());
      assert.ok(!s.some((x) => x.gap), JSON.stringify(s.filter((x) => x.gap)));
      for (let p = 0; p < produced.length; p++) {
        const lag = find(s, 'offset_lag', { pillow, topic, partition: String(p) });
        assert.equal(lag?.value, ends.get(p)! - checkpoint[p]!, `partition ${p}`);
      }
      assert.equal(find(s, 'offset_lag_total', { pillow })?.value, 15 + 0 + 7);
      // time lag: partition 0 from its last checkpointed change (42 s ago), partition 2 from last_modified (3 s
      // ago: no doc time recorded), partition 1 is caught up
      const t0 = find(s, 'time_lag_s', { pillow, partition: '0' })!;
      const age = await db.query(
        `select extract(epoch from now() - doc_modification_time)::float8 as s from pillowtop_kafkacheckpoint where checkpoint_id = $1 and partition = 0`,
        [pillow],
      );
      assert.ok(t0.value >= 42 && Math.abs(t0.value - age.rows[0].s) < 2, `time lag ${t0.value}, change made ${age.rows[0].s} s ago`);
      assert.equal(t0.labels.from, 'doc_modification_time');
      assert.equal(find(s, 'time_lag_s', { pillow, partition: '1' })?.value, 0);
      assert.equal(find(s, 'time_lag_s', { pillow, partition: '2' })?.labels.from, 'last_modified');
      const ckAge = find(s, 'checkpoint_age_s', { pillow, partition: '2' })!.value;
      assert.ok(ckAge >= 3 && ckAge < age.rows[0].s - 42 + 5, `checkpoint age ${ckAge}`);

      // the pillow catches up on partition 0 and more arrives on partition 1: the next tick sees both
      await db.query(
        `update pillowtop_kafkacheckpoint set "offset" = 25, last_modified = now() where checkpoint_id = $1 and partition = 0`,
        [pillow],
      );
      const kafka = new Kafka({ clientId: 'capacity-it', brokers: [kafkaBroker(ctx)], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `x${i}`, partition: 1 })) });
      await producer.disconnect();
      const s2 = await c.sample(new Date(Date.now()));
      assert.equal(find(s2, 'offset_lag', { pillow, partition: '0' })?.value, 0);
      assert.equal(find(s2, 'offset_lag', { pillow, partition: '1' })?.value, 5);
      const t1 = find(s2, 'time_lag_s', { pillow, partition: '1' })!;
      assert.equal(t1.labels.from, 'kafka_end_offsets', 'new backlog is timed from the end offsets seen on the previous tick');
      assert.ok(t1.value < 10, `time lag ${t1.value}`);
      assert.ok(find(s2, 'processed_per_s', { pillow, partition: '0' })!.value > 0);
    } finally {
      await c.close?.();
    }
  });

  it('a checkpoint on a topic Kafka does not have is a gap for that topic alone; the others are read', async () => {
    const stale = `${pillow}-stale`;
    const gone = `cap-gone-${randomUUID().slice(0, 8)}`;
    await db.query(
      `insert into pillowtop_kafkacheckpoint (checkpoint_id, topic, partition, "offset") values ($1, $2, 0, 10), ($1, $3, 0, 3)`,
      [stale, gone, topic],
    );
    const c = pillowCollector({ postgresUrl: postgresUrl(ctx), kafkaBrokers: [kafkaBroker(ctx)], host: 'localhost', pillows: [stale] });
    try {
      const s = await c.sample(new Date());
      const gaps = s.filter((x) => x.gap);
      assert.equal(gaps.length, 1, JSON.stringify(gaps));
      assert.equal(gaps[0]!.labels.part, `topic ${gone}`);
      assert.match(gaps[0]!.error!, /does not host this topic-partition|UNKNOWN_TOPIC|unknown topic/i);
      assert.equal(find(s, 'offset_lag', { pillow: stale, topic, partition: '0' })?.value, produced[0]! - 3 + 0);
      assert.equal(find(s, 'offset_lag', { pillow: stale, topic: gone }), undefined, 'no lag, and no zero, for the missing topic');
      const topics = await admin.listTopics();
      assert.ok(!topics.includes(gone), 'reading offsets did not create the topic');
    } finally {
      await c.close?.();
      await db.query('delete from pillowtop_kafkacheckpoint where checkpoint_id = $1', [stale]);
    }
  });

  it('consumer-group lag equals what kafka-consumer-groups (ConsumerGroupCommand) reports', async () => {
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '40' },
        { partition: 2, offset: '1' },
      ],
    });
    const out = kafkaTool(cp, 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', [
      '--bootstrap-server',
      kafkaBroker(ctx),
      '--describe',
      '--group',
      group,
    ]);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    const toolLag = new Map<number, number>();
    let toolEnd = 0;
    for (const line of out.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[0] === group && f[1] === topic) {
        toolLag.set(Number(f[2]), Number(f[5]));
        toolEnd += Number(f[4]);
      }
    }
    assert.equal(toolLag.size, 3, out);
    const c = kafkaCollector({ brokers: [kafkaBroker(ctx)], host: 'localhost', topics: [topic], groups: [group] });
    try {
      const s = await c.sample(new Date());
      for (const [p, lag] of toolLag) {
        assert.equal(find(s, 'consumer_group_lag', { group, topic, partition: String(p) })?.value, lag, `partition ${p}`);
      }
      assert.equal(
        find(s, 'consumer_group_lag_total', { group, topic })?.value,
        [...toolLag.values()].reduce((a, b) => a + b, 0),
      );
      assert.equal(find(s, 'topic_end_offset', { topic })?.value, toolEnd);
    } finally {
      await c.close?.();
    }
  });

  it('with groups: all, the collector lists the groups itself', async () => {
    const c = kafkaCollector({ brokers: [kafkaBroker(ctx)], host: 'localhost', topics: [topic] });
    try {
      const s = await c.sample(new Date());
      assert.ok(find(s, 'consumer_group_lag_total', { group, topic }));
    } finally {
      await c.close?.();
    }
  });
});
