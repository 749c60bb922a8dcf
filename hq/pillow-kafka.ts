// Kafka consumption the way HQ's pillows do it: each pillow process reads a fixed share of the partitions
// (partition % processes == process number), starts from its checkpoints in pillowtop_kafkacheckpoint, and
// commits nothing to Kafka. kafkajs only consumes through a group, so each process uses a private group whose
// assigner hands out exactly those partitions, with auto-commit off; the group never holds an offset.
import { applyKafkajsIdleFix } from '../core/kafkajs-idle-fix.ts';
import { AssignerProtocol, Kafka, logLevel, type Consumer, type EachBatchPayload, type PartitionAssigner } from 'kafkajs';
import type pg from 'pg';

applyKafkajsIdleFix(); // before any kafkajs connection is made (see core/kafkajs-idle-fix.ts)

export interface ChangeRecord {
  docId: string;
  topic: string;
  partition: number;
  offset: string;
  documentType?: string;
  domain?: string;
  publishTimestamp?: string;
}

export interface FeedOptions {
  brokers: string[];
  checkpointId: string;
  topics: string[];
  processNum: number;
  processes: number;
  pool: pg.Pool;
  handle: (changes: ChangeRecord[]) => Promise<void>;
  log: (msg: string) => void;
  /** Kafka fetch: answer once this many bytes are waiting (1: at once) or maxWaitMs has passed. */
  minBytes?: number;
  maxWaitMs?: number;
}

function shareAssigner(processNum: number, processes: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'HqPillowShare',
    version: 1,
    async assign({ members, topics }) {
      const assignment: Record<string, number[]> = {};
      for (const topic of topics) {
        const parts = cluster
          .findTopicPartitionMetadata(topic)
          .map((p) => p.partitionId)
          .sort((a, b) => a - b);
        assignment[topic] = parts.filter((p) => p % processes === processNum);
      }
      // One member per private group; any extra member (a stale one) gets nothing.
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return { name: 'HqPillowShare', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

export async function readCheckpoints(pool: pg.Pool, checkpointId: string): Promise<Map<string, string>> {
  const res = await pool.query<{ topic: string; partition: number; offset: string }>(
    'select topic, partition, "offset" from pillowtop_kafkacheckpoint where checkpoint_id = $1',
    [checkpointId],
  );
  return new Map(res.rows.map((r) => [`${r.topic}:${r.partition}`, String(r.offset)]));
}

export interface PartitionLag {
  checkpointId: string;
  topic: string;
  partition: number;
  lag: number;
}

/** The changes the given partitions have yet to process, added up. */
export function lagTotal(lags: PartitionLag[]): number {
  return lags.reduce((sum, l) => sum + l.lag, 0);
}

/** HQ's pillows' checkpoints (or those given) against the topics' end offsets: the changes each has yet to process. */
export async function pillowLags(
  pool: pg.Pool,
  brokers: string[],
  checkpointIds = ['xform-pillow', 'case-pillow', 'ucr-pillow'],
): Promise<PartitionLag[]> {
  const kafka = new Kafka({ clientId: 'capacity-lag', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cps = (
      await pool.query<{ checkpoint_id: string; topic: string; partition: number; offset: string }>(
        'select checkpoint_id, topic, partition, "offset" from pillowtop_kafkacheckpoint where checkpoint_id = any($1)',
        [checkpointIds],
      )
    ).rows;
    const ends = new Map<string, bigint>();
    for (const topic of new Set(cps.map((c) => c.topic))) {
      for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${p.partition}`, BigInt(p.high));
    }
    return cps.map((c) => ({
      checkpointId: c.checkpoint_id,
      topic: c.topic,
      partition: c.partition,
      lag: Number((ends.get(`${c.topic}:${c.partition}`) ?? 0n) - BigInt(c.offset)),
    }));
  } finally {
    await admin.disconnect();
  }
}

/** Checkpoints of several partitions in one statement (after a batch that spans them). */
async function writeCheckpoints(
  pool: pg.Pool,
  checkpointId: string,
  cps: { topic: string; partition: number; nextOffset: string; docTime: string | undefined }[],
): Promise<void> {
  if (cps.length === 0) return;
  await pool.query({
    name: 'hq-pillow-checkpoints',
    text: `insert into pillowtop_kafkacheckpoint (checkpoint_id, topic, partition, "offset", doc_modification_time, last_modified)
      select $1, c.topic, c.partition, c.next, c.doc_time, now()
      from unnest($2::text[], $3::integer[], $4::bigint[], $5::timestamptz[]) as c(topic, partition, next, doc_time)
      on conflict (checkpoint_id, topic, partition) do update set "offset" = excluded."offset",
        doc_modification_time = coalesce(excluded.doc_modification_time, pillowtop_kafkacheckpoint.doc_modification_time),
        last_modified = now()`,
    values: [
      checkpointId,
      cps.map((c) => c.topic),
      cps.map((c) => c.partition),
      cps.map((c) => c.nextOffset),
      cps.map((c) => c.docTime ?? null),
    ],
  });
}

async function writeCheckpoint(
  pool: pg.Pool,
  checkpointId: string,
  topic: string,
  partition: number,
  nextOffset: string,
  docTime: string | undefined,
): Promise<void> {
  await pool.query(
    `insert into pillowtop_kafkacheckpoint (checkpoint_id, topic, partition, "offset", doc_modification_time, last_modified)
     values ($1,$2,$3,$4,$5,now()) on conflict (checkpoint_id, topic, partition) do update set "offset" = excluded."offset",
       doc_modification_time = coalesce(excluded.doc_modification_time, pillowtop_kafkacheckpoint.doc_modification_time),
       last_modified = now()`,
    [checkpointId, topic, partition, nextOffset, docTime ?? null],
  );
}

/** A running feed: its consumer, and whether it still fetches (a consumer that lost Kafka may never come back). */
export interface Feed {
  consumer: Consumer;
  /** ms since its last fetch from Kafka, 0 while it handles a batch */
  idleMs(): number;
  /** ms since it last handled a batch (or started), 0 while it handles one */
  sinceProgressMs(): number;
  /** why kafkajs gave the consumer up (a crash it does not restart from), if it did */
  crashed(): string | undefined;
}

let generation = 0;

export async function runFeed(opts: FeedOptions): Promise<Feed> {
  const kafka = new Kafka({
    clientId: `${opts.checkpointId}-${opts.processNum}`,
    brokers: opts.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1000, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  const consumer = kafka.consumer({
    // A group of its own for each consumer this process makes: a member left over from a consumer it replaced (or
    // one a restarted broker remembers) can then never be handed the partitions in its place.
    groupId: `pillow.${opts.checkpointId}.${opts.processNum}-of-${opts.processes}.${process.pid}.${++generation}`,
    partitionAssigners: [shareAssigner(opts.processNum, opts.processes)],
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 1000,
    // With minBytes 1 a fetch returns as soon as anything is waiting, so a long wait only saves idle polling.
    minBytes: opts.minBytes ?? 1,
    maxWaitTimeInMs: opts.maxWaitMs ?? 1000,
    retry: { retries: 1000, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  let lastFetchAt = Date.now();
  let lastProgressAt = Date.now();
  let inFlight = 0;
  consumer.on(consumer.events.FETCH, () => {
    lastFetchAt = Date.now();
  });
  let gaveUp: string | undefined;
  consumer.on(consumer.events.CRASH, (e) => {
    const why = e.payload.error?.message ?? 'unknown error';
    opts.log(`consumer crashed: ${why} (kafkajs restarts it: ${e.payload.restart})`);
    if (!e.payload.restart) gaveUp = why;
  });
  await consumer.connect();
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });

  // Every (re)assignment: start each partition at its checkpoint, creating missing checkpoints at 0.
  consumer.on(consumer.events.GROUP_JOIN, async (e) => {
    const checkpoints = await readCheckpoints(opts.pool, opts.checkpointId);
    for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
      for (const partition of partitions) {
        const offset = checkpoints.get(`${topic}:${partition}`);
        if (offset === undefined) await writeCheckpoint(opts.pool, opts.checkpointId, topic, partition, '0', undefined);
        consumer.seek({ topic, partition, offset: offset ?? '0' });
      }
    }
    opts.log(`assigned ${JSON.stringify(e.payload.memberAssignment)}`);
  });

  // kafkajs hands over one batch per partition; the batches of one fetch are handled concurrently and gathered
  // here into one call of `handle` (one bulk write) and one checkpoint statement, written after it.
  type Group = { changes: ChangeRecord[]; checkpoints: Parameters<typeof writeCheckpoints>[2]; done: Promise<void> };
  let open: Group | undefined;
  const join = (): Group => {
    if (open) return open;
    const g: Group = { changes: [], checkpoints: [], done: Promise.resolve() };
    g.done = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        open = undefined;
        (async () => {
          await opts.handle(g.changes.filter((c) => c.docId));
          await writeCheckpoints(opts.pool, opts.checkpointId, g.checkpoints);
        })().then(resolve, reject);
      });
    });
    open = g;
    return g;
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 64,
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      inFlight++;
      try {
        await handleBatch(batch, resolveOffset);
      } finally {
        inFlight--;
        lastFetchAt = lastProgressAt = Date.now();
      }
    },
  });
  return {
    consumer,
    idleMs: () => (inFlight > 0 ? 0 : Date.now() - lastFetchAt),
    sinceProgressMs: () => (inFlight > 0 ? 0 : Date.now() - lastProgressAt),
    crashed: () => gaveUp,
  };

  /** One partition's batch, gathered with the others of its fetch into one bulk write and one checkpoint. */
  async function handleBatch(batch: EachBatchPayload['batch'], resolveOffset: EachBatchPayload['resolveOffset']): Promise<void> {
    const changes: ChangeRecord[] = [];
    for (const m of batch.messages) {
      let meta: Record<string, unknown> = {};
      try {
        meta = JSON.parse(m.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
      } catch {
        // an unreadable change is skipped, as HQ's pillow would send it to pillow_retry
      }
      changes.push({
        docId: String(meta.document_id ?? m.key?.toString('utf8') ?? ''),
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        documentType: meta.document_type as string | undefined,
        domain: meta.domain as string | undefined,
        publishTimestamp: meta.publish_timestamp as string | undefined,
      });
    }
    const last = batch.messages[batch.messages.length - 1]!;
    const g = join();
    g.changes.push(...changes);
    g.checkpoints.push({
      topic: batch.topic,
      partition: batch.partition,
      nextOffset: (BigInt(last.offset) + 1n).toString(),
      docTime: changes[changes.length - 1]?.publishTimestamp,
    });
    await g.done;
    resolveOffset(last.offset);
    // No heartbeat() here: kafkajs heartbeats between fetches. One here, with Kafka restarting, can retry for
    // minutes (retries: 1000) and keep the batch "in flight", which hides a stalled consumer from the watchdog.
  }
}
