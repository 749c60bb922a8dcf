// Publishes committed change records to Kafka. Rows are deleted only once Kafka has acknowledged them
// (acks from all in-sync replicas), so a Kafka outage delays changes but never loses one.
import { applyKafkajsIdleFix } from '../core/kafkajs-idle-fix.ts';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import pg from 'pg';

applyKafkajsIdleFix(); // before any kafkajs connection is made (see core/kafkajs-idle-fix.ts)

export interface OutboxOptions {
  brokers: string[];
  /** PostgreSQL URL for the drainer's own session (it holds the leader lock and LISTENs). */
  pgUrl: string;
  batchSize?: number;
  /** Longest wait between drains when no change is announced (a safety net: every commit notifies). */
  idleMs?: number;
  /** After a change is announced, wait this long so the changes of several forms go out in one produce request. */
  lingerMs?: number;
  log?: (msg: string) => void;
}

interface OutboxRow {
  id: string;
  topic: string;
  doc_id: string;
  payload: Record<string, unknown>;
}

/** Every form transaction notifies this channel (pg_notify in its write statement); delivered on commit. */
export const OUTBOX_CHANNEL = 'hq_change_outbox';
/** Session advisory lock held by the one web worker that drains the outbox. */
const LEADER_LOCK = 7702002;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One drainer per web worker process, but only the leader (the holder of an advisory lock, on a session of its
 * own) publishes: changes from every worker's commits go out together, in a few larger produce requests, instead
 * of one tiny request per form per worker. The leader is woken by the commits' NOTIFY, lingers a little to let
 * more changes gather, then publishes and deletes them. If the leader dies its session ends and another worker
 * takes the lock within `followerPollMs`.
 */
export class OutboxDrainer {
  private producer: Producer;
  private connected = false;
  private running = false;
  private wake: (() => void) | undefined;
  private woken = false;
  private loop: Promise<void> | undefined;
  private session: pg.Client | undefined;
  private sessionBroken = false;
  leader = false;
  published = 0;
  drains = 0;

  constructor(
    private opts: OutboxOptions,
    private followerPollMs = 1000,
  ) {
    const kafka = new Kafka({
      clientId: `hq-web-${process.pid}`,
      brokers: opts.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  }

  /** Called after each commit; only matters in the leader (followers' commits reach it by NOTIFY). */
  kick(): void {
    this.woken = true;
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
    await this.closeSession();
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }

  private async openSession(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.opts.pgUrl, connectionTimeoutMillis: 10_000 });
    this.sessionBroken = false;
    client.on('error', () => {
      this.sessionBroken = true;
      this.kick();
    });
    client.on('end', () => {
      this.sessionBroken = true;
    });
    client.on('notification', () => this.kick());
    await client.connect();
    this.session = client;
    return client;
  }

  private async closeSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (this.leader) this.opts.log?.('outbox: leadership released');
    this.leader = false;
    if (s) await s.end().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (this.running) {
      try {
        if (this.session && this.sessionBroken) await this.closeSession();
        const session = this.session ?? (await this.openSession());
        if (!this.leader) {
          const got = await session.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LEADER_LOCK]);
          if (got.rows[0]?.ok) {
            await session.query(`listen ${OUTBOX_CHANNEL}`);
            this.leader = true;
            this.opts.log?.(`outbox: this worker (pid ${process.pid}) drains the outbox`);
          }
        }
        if (!this.leader) {
          await this.idle(this.followerPollMs + Math.random() * 250, false); // own commits need not wake a follower
          continue;
        }
        const n = await this.drainOnce(session);
        backoff = 250;
        if (n >= (this.opts.batchSize ?? 1000)) continue; // more waiting: no linger
        await this.idle(this.opts.idleMs ?? 1000);
        if (this.running && !this.sessionBroken) await sleep(this.opts.lingerMs ?? 25);
      } catch (err) {
        this.opts.log?.(`outbox: publish failed, will retry in ${backoff} ms: ${(err as Error).message}`);
        if (this.connected) {
          await this.producer.disconnect().catch(() => undefined);
          this.connected = false;
        }
        // A session that can no longer run a query is replaced (and leadership is contested again).
        if (
          this.session &&
          (this.sessionBroken ||
            !(await this.session.query('select 1').then(
              () => true,
              () => false,
            )))
        ) {
          await this.closeSession();
        }
        await this.idle(backoff, false); // commits keep announcing changes: do not let them cut the back-off short
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /**
   * Waits `ms`, or until kicked when `onKick` (a kick that came while busy ends the wait at once). stop() always
   * ends the wait.
   */
  private idle(ms: number, onKick = true): Promise<void> {
    if (!this.running || (onKick && this.woken)) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(t);
        this.wake = undefined;
        if (onKick) this.woken = false;
        resolve();
      };
      const t = setTimeout(finish, ms);
      this.wake = () => {
        if (onKick || !this.running) finish();
      };
    });
  }

  /** Publishes one batch (oldest first) and deletes it once Kafka has acknowledged it; returns how many went out. */
  async drainOnce(client: pg.ClientBase): Promise<number> {
    this.drains++;
    await client.query('begin');
    try {
      const res = await client.query<OutboxRow>({
        name: 'hq-outbox-take',
        text: 'select id, topic, doc_id, payload from hq_change_outbox order by id limit $1 for update skip locked',
        values: [this.opts.batchSize ?? 1000],
      });
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
      await client.query({
        name: 'hq-outbox-done',
        text: 'delete from hq_change_outbox where id = any($1::bigint[])',
        values: [res.rows.map((r) => r.id)],
      });
      await client.query('commit');
      this.published += res.rows.length;
      return res.rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
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
