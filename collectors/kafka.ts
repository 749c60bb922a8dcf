// Kafka through kafkajs admin: topic end offsets (messages in per second) and consumer-group lag; and the
// shared admin handle the pillow-lag collector uses.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { RateTracker } from './rates.ts';
import { sample, type Collector, type Sample } from './types.ts';

/** One kafkajs admin connection, made on first use and remade after a failure. */
export class KafkaAdminHandle {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;

  constructor(
    readonly brokers: string[],
    private readonly timeoutMs = 5000,
  ) {}

  get(): Promise<Admin> {
    if (this.admin) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      const kafka = new Kafka({
        clientId: 'capacity-collector',
        brokers: this.brokers,
        logLevel: logLevel.NOTHING,
        connectionTimeout: Math.min(this.timeoutMs, 3000),
        requestTimeout: this.timeoutMs,
        // a down broker should become a gap within one tick, not after kafkajs' default minute of retries
        retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
      });
      const admin = kafka.admin();
      try {
        await admin.connect();
      } catch (err) {
        admin.disconnect().catch(() => undefined);
        throw err;
      }
      this.admin = admin;
      return admin;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Runs `fn` with the admin; on failure drops the connection so the next call reconnects. */
  async use<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await this.get();
    try {
      return await fn(admin);
    } catch (err) {
      this.admin = undefined;
      admin.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /** End offset (the offset the next message will get) of every partition of each topic. */
  async endOffsets(topics: string[]): Promise<Map<string, Map<number, { high: number; low: number }>>> {
    return this.use(async (admin) => {
      const out = new Map<string, Map<number, { high: number; low: number }>>();
      const all = await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t).then((p) => [t, p] as const)));
      for (const [topic, parts] of all) {
        out.set(topic, new Map(parts.map((p) => [p.partition, { high: Number(p.high), low: Number(p.low) }])));
      }
      return out;
    });
  }

  async close(): Promise<void> {
    const a = this.admin;
    this.admin = undefined;
    await a?.disconnect().catch(() => undefined);
  }
}

export interface KafkaTarget {
  brokers: string[];
  host: string;
  /** Topics to watch; default every topic except internal ones (`__*`). */
  topics?: string[];
  /** Consumer groups whose lag to report: a list, or 'all' (default) for every group the cluster lists. */
  groups?: string[] | 'all';
}

export function kafkaCollector(target: KafkaTarget, opts: { timeoutMs?: number } = {}): Collector {
  const handle = new KafkaAdminHandle(target.brokers, opts.timeoutMs);
  const rates = new RateTracker();
  return {
    name: `kafka@${target.host}`,
    source: 'kafka',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const t = now.getTime();
      const out: Sample[] = [];
      const add = (metric: string, value: number | undefined, labels: Record<string, string>) => {
        if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'kafka', target.host, metric, value, labels));
      };
      const topics = target.topics ?? (await handle.use((a) => a.listTopics())).filter((x) => !x.startsWith('__'));
      const ends = await handle.endOffsets(topics);
      for (const [topic, parts] of ends) {
        let sum = 0;
        for (const p of parts.values()) sum += p.high;
        add('topic_end_offset', sum, { topic });
        add('messages_in_per_s', rates.rate(`in.${topic}`, sum, t), { topic });
        add('partitions', parts.size, { topic });
      }
      const groups =
        target.groups === undefined || target.groups === 'all'
          ? (await handle.use((a) => a.listGroups())).groups.map((g) => g.groupId)
          : target.groups;
      for (const groupId of groups) {
        const committed = await handle.use((a) => a.fetchOffsets({ groupId }));
        for (const { topic, partitions } of committed) {
          let topicEnds = ends.get(topic);
          if (!topicEnds) {
            topicEnds = (await handle.endOffsets([topic])).get(topic);
            if (topicEnds) ends.set(topic, topicEnds);
          }
          let total = 0;
          let known = 0;
          for (const p of partitions) {
            const offset = Number(p.offset);
            const end = topicEnds?.get(p.partition)?.high;
            if (offset < 0 || end === undefined) continue; // no committed offset: lag unknown (kafka-consumer-groups shows "-")
            const lag = Math.max(0, end - offset);
            add('consumer_group_lag', lag, { group: groupId, topic, partition: String(p.partition) });
            total += lag;
            known++;
          }
          if (known) add('consumer_group_lag_total', total, { group: groupId, topic });
        }
      }
      return out;
    },
    close: () => handle.close(),
  };
}
