// Kafka consumption the way HQ's pillows do it: each pillow process reads a fixed share of the partitions
// (partition % processes == process number), starts from its checkpoints in pillowtop_kafkacheckpoint, and
// commits nothing to Kafka. kafkajs only consumes through a group, so each process uses a private group whose
// assigner hands out exactly those partitions, with auto-commit off; the group never holds an offset.
import { AssignerProtocol, Kafka, logLevel, type Consumer, type EachBatchPayload, type PartitionAssigner } from 'kafkajs';
import type pg from 'pg';

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
}

function shareAssigner(processNum: number, processes: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'HqPillowShare',
    version: 1,
    async assign({ members, topics }) {
      const assignment: Record<string, number[]> = {};
      for (const topic of topics) {
        const parts = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
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

async function writeCheckpoint(pool: pg.Pool, checkpointId: string, topic: string, partition: number, nextOffset: string,
  docTime: string | undefined): Promise<void> {
  await pool.query(
    `insert into pillowtop_kafkacheckpoint (checkpoint_id, topic, partition, "offset", doc_modification_time, last_modified)
     values ($1,$2,$3,$4,$5,now()) on conflict (checkpoint_id, topic, partition) do update set "offset" = excluded."offset",
       doc_modification_time = coalesce(excluded.doc_modification_time, pillowtop_kafkacheckpoint.doc_modification_time),
       last_modified = now()`,
    [checkpointId, topic, partition, nextOffset, docTime ?? null],
  );
}

export async function runFeed(opts: FeedOptions): Promise<Consumer> {
  const kafka = new Kafka({ clientId: `${opts.checkpointId}-${opts.processNum}`, brokers: opts.brokers, logLevel: logLevel.NOTHING,
    retry: { retries: 1000, initialRetryTime: 300, maxRetryTime: 5000 } });
  const consumer = kafka.consumer({
    groupId: `pillow.${opts.checkpointId}.${opts.processNum}-of-${opts.processes}`,
    partitionAssigners: [shareAssigner(opts.processNum, opts.processes)],
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    retry: { retries: 1000, initialRetryTime: 300, maxRetryTime: 5000 },
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

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
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
      await opts.handle(changes.filter((c) => c.docId));
      const last = batch.messages[batch.messages.length - 1]!;
      await writeCheckpoint(opts.pool, opts.checkpointId, batch.topic, batch.partition, (BigInt(last.offset) + 1n).toString(),
        changes[changes.length - 1]?.publishTimestamp);
      resolveOffset(last.offset);
      await heartbeat();
    },
  });
  return consumer;
}
