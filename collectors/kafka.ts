// Kafka through kafkajs admin: topic end offsets (messages in per second) and consumer-group lag; and the
// shared admin handle the pillow-lag collector uses.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { applyKafkajsIdleFix } from '../core/kafkajs-idle-fix.ts';
import { RateTracker } from './rates.ts';

applyKafkajsIdleFix();
import { gapSample, sample, type Collector, type Sample } from './types.ts';

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

  /** Runs `fn` with the admin; on a connection failure drops the connection so the next call reconnects. */
  async use<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await this.get();
    try {
      return await fn(admin);
    } catch (err) {
      if (!isProtocolError(err) && this.admin === admin) {
        this.admin = undefined;
        admin.disconnect().catch(() => undefined);
      }
      throw err;
    }
  }

  /** End offsets per topic; a topic that cannot be read (e.g. deleted) is in `errors`, the others are read. */
  async endOffsetsSettled(
    topics: string[],
    tMs?: number,
  ): Promise<{ ends: Map<string, Map<number, { high: number; low: number }>>; errors: Map<string, unknown> }> {
    const ends = new Map<string, Map<number, { high: number; low: number }>>();
    const errors = new Map<string, unknown>();
    const results = await Promise.allSettled(topics.map((t) => this.endOffsets([t], tMs)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') for (const [k, v] of r.value) ends.set(k, v);
      else errors.set(topics[i]!, r.reason);
    });
    // the broker itself is down: every topic failed for the same reason
    if (topics.length && errors.size === topics.length && !isProtocolError(errors.values().next().value))
      throw errors.values().next().value;
    return { ends, errors };
  }

  private memo: { tMs: number; byTopic: Map<string, Promise<Map<number, { high: number; low: number }>>> } = {
    tMs: NaN,
    byTopic: new Map(),
  };

  /**
   * End offset (the offset the next message will get) of every partition of each topic. With `tMs` (the tick
   * time), readings are shared by every collector that asks during the same tick (pillows and kafka).
   */
  async endOffsets(topics: string[], tMs?: number): Promise<Map<string, Map<number, { high: number; low: number }>>> {
    if (tMs === undefined || tMs !== this.memo.tMs) this.memo = { tMs: tMs ?? NaN, byTopic: new Map() };
    const memo = this.memo.byTopic;
    for (const t of topics) {
      if (!memo.has(t)) {
        const p = this.use(
          async (admin) =>
            new Map((await admin.fetchTopicOffsets(t)).map((x) => [x.partition, { high: Number(x.high), low: Number(x.low) }])),
        );
        p.catch(() => undefined);
        memo.set(t, p);
      }
    }
    const out = new Map<string, Map<number, { high: number; low: number }>>();
    const all = await Promise.all(topics.map(async (t) => [t, await memo.get(t)!] as const));
    for (const [t, parts] of all) out.set(t, parts);
    return out;
  }

  private lists = new Map<string, { at: number; value: Promise<string[]> }>();

  /** Topic and group lists change rarely: read at most every `maxAgeMs`. */
  cachedList(kind: 'topics' | 'groups', tMs: number, maxAgeMs: number): Promise<string[]> {
    const hit = this.lists.get(kind);
    if (hit && tMs - hit.at < maxAgeMs && tMs >= hit.at) return hit.value;
    const value = this.use(async (admin) =>
      kind === 'topics' ? await admin.listTopics() : (await admin.listGroups()).groups.map((g) => g.groupId),
    );
    this.lists.set(kind, { at: tMs, value });
    value.catch(() => this.lists.delete(kind));
    return value;
  }

  async close(): Promise<void> {
    const a = this.admin;
    this.admin = undefined;
    await a?.disconnect().catch(() => undefined);
  }
}

/** A Kafka error answer about one request (unknown topic...), as opposed to a connection that failed. */
export function isProtocolError(err: unknown): boolean {
  const e = err as { name?: string; type?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  if (!e) return false;
  if (e.name === 'KafkaJSProtocolError' || typeof e.type === 'string') return true;
  return e.cause !== undefined && e.cause !== err
    ? isProtocolError(e.cause)
    : e.originalError !== undefined
      ? isProtocolError(e.originalError)
      : false;
}

/** One admin connection per broker list, shared by the collectors of a run (see buildCollectors). */
export function sharedKafkaHandle(registry: Map<string, KafkaAdminHandle>, brokers: string[], timeoutMs?: number): KafkaAdminHandle {
  const key = [...brokers].sort().join(',');
  let h = registry.get(key);
  if (!h) registry.set(key, (h = new KafkaAdminHandle(brokers, timeoutMs)));
  return h;
}

export interface KafkaTarget {
  brokers: string[];
  host: string;
  /** Topics to watch; default every topic except internal ones (`__*`). */
  topics?: string[];
  /** Consumer groups whose lag to report: a list, or 'all' (default) for every group the cluster lists. */
  groups?: string[] | 'all';
}

export interface KafkaOptions {
  timeoutMs?: number;
  /** Topic and group lists are re-read at most this often. Default 30 s. */
  listEveryMs?: number;
  /** Committed group offsets are read at most this often (each group costs a coordinator lookup and a fetch). Default 5 s; 0 = every tick. */
  groupsEveryMs?: number;
  /** A connection shared with other collectors (the pillow-lag collector reads the same end offsets). */
  handle?: KafkaAdminHandle;
}

export function kafkaCollector(target: KafkaTarget, opts: KafkaOptions = {}): Collector {
  const handle = opts.handle ?? new KafkaAdminHandle(target.brokers, opts.timeoutMs);
  const listEvery = opts.listEveryMs ?? 30_000;
  const groupsEvery = opts.groupsEveryMs ?? 5000;
  let lastGroups = -Infinity;
  const rates = new RateTracker();
  const c: Collector = {
    name: `kafka@${target.host}`,
    source: 'kafka',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const t = now.getTime();
      const out: Sample[] = [];
      const add = (metric: string, value: number | undefined, labels: Record<string, string>) => {
        if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'kafka', target.host, metric, value, labels));
      };
      const topics = target.topics ?? (await handle.cachedList('topics', t, listEvery)).filter((x) => !x.startsWith('__'));
      const { ends, errors } = await handle.endOffsetsSettled(topics, t);
      for (const [topic, err] of errors) out.push(gapSample(now, c, err, `topic ${topic}`));
      for (const [topic, parts] of ends) {
        let sum = 0;
        for (const p of parts.values()) sum += p.high;
        add('topic_end_offset', sum, { topic });
        add('messages_in_per_s', rates.rate(`in.${topic}`, sum, t), { topic });
        add('partitions', parts.size, { topic });
      }
      if (t - lastGroups < groupsEvery) return out;
      lastGroups = t;
      const groups =
        target.groups === undefined || target.groups === 'all' ? await handle.cachedList('groups', t, listEvery) : target.groups;
      for (const groupId of groups) {
        const committed = await handle.use((a) => a.fetchOffsets({ groupId }));
        for (const { topic, partitions } of committed) {
          let topicEnds = ends.get(topic);
          if (!topicEnds) {
            topicEnds = (await handle.endOffsetsSettled([topic], t)).ends.get(topic);
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
  return c;
}
