// Publishes committed change records to Kafka. Rows are deleted only once Kafka has acknowledged them
// (acks from all in-sync replicas), so a Kafka outage delays changes but never loses one.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type pg from 'pg';

export interface OutboxOptions {
  brokers: string[];
  batchSize?: number;
  idleMs?: number;
  log?: (msg: string) => void;
}

interface OutboxRow {
  id: string;
  topic: string;
  doc_id: string;
  payload: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OutboxDrainer {
  private producer: Producer;
  private connected = false;
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  published = 0;

  constructor(private pool: pg.Pool, private opts: OutboxOptions) {
    const kafka = new Kafka({ clientId: `hq-web-${process.pid}`, brokers: opts.brokers, logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 } });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  }

  /** Called after each commit so changes go out at once rather than at the next poll. */
  kick(): void {
    this.wake?.();
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (this.running) {
      try {
        const n = await this.drainOnce();
        backoff = 250;
        if (n === 0) await this.idle(this.opts.idleMs ?? 200);
      } catch (err) {
        this.opts.log?.(`outbox: publish failed, will retry in ${backoff} ms: ${(err as Error).message}`);
        if (this.connected) {
          await this.producer.disconnect().catch(() => undefined);
          this.connected = false;
        }
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Publishes one batch; returns how many changes went out. */
  async drainOnce(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const res = await client.query<OutboxRow>(
        'select id, topic, doc_id, payload from hq_change_outbox order by id limit $1 for update skip locked',
        [this.opts.batchSize ?? 500],
      );
      if (res.rows.length === 0) {
        await client.query('commit');
        return 0;
      }
      if (!this.connected) {
        await this.producer.connect();
        this.connected = true;
      }
      const byTopic = new Map<string, { key: string; value: string }[]>();
      const published = new Date().toISOString();
      for (const r of res.rows) {
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.doc_id, value: JSON.stringify({ ...r.payload, publish_timestamp: published }) });
        byTopic.set(r.topic, list);
      }
      await this.producer.sendBatch({
        acks: -1,
        timeout: 10_000,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      await client.query('delete from hq_change_outbox where id = any($1::bigint[])', [res.rows.map((r) => r.id)]);
      await client.query('commit');
      this.published += res.rows.length;
      return res.rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

export async function ensureTopics(brokers: string[], topics: string[], partitions: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'hq-setup', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) {
      await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

export { sleep };
