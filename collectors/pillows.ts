// Pillow lag as CommCare HQ measures it. HQ's pillows read Kafka with assign() and no consumer group; their
// checkpoints live in PostgreSQL (pillowtop_kafkacheckpoint: checkpoint_id, topic, partition, "offset", where
// "offset" is the next offset the pillow will read). Per pillow, topic and partition:
//
//   offset_lag       = Kafka end offset - checkpoint offset        (HQ's `need_processing`; alert > 5000)
//   time_lag_s       = how long ago the oldest change the pillow has not processed (the message at the
//                      checkpoint offset) was published; 0 when offset_lag is 0. The nearest figure to HQ's
//                      `change_feed.change_lag` (now - publish time of the change being processed; warn 600 s,
//                      critical 3600 s). It is the smaller of two upper bounds:
//                        a. from end offsets seen on earlier ticks: the message at offset o was published after
//                           the last tick at which the end offset was still <= o (too high by under one interval);
//                        b. now - doc_modification_time of the last change the pillow checkpointed (or
//                           last_modified when the pillow does not record it), on PostgreSQL's clock: the next
//                           change cannot be older than the one before it. Used alone for backlog that was
//                           there before the collector started.
//                      labels.from says which bound gave the figure.
//   checkpoint_age_s = now - last_modified: how long since the pillow last wrote a checkpoint (a stuck pillow
//                      grows this while its offset_lag grows).
//   processed_per_s  = rate of the checkpoint offset.
// Partitions a pillow has never checkpointed are not reported.
import pg from 'pg';
import { KafkaAdminHandle } from './kafka.ts';
import { openCollectorClient } from './postgres.ts';
import { RateTracker } from './rates.ts';
import { gapSample, sample, type Collector, type Sample } from './types.ts';

export interface PillowTarget {
  /** The database holding pillowtop_kafkacheckpoint (HQ's main database). */
  postgresUrl: string;
  kafkaBrokers: string[];
  host: string;
  /** Only these checkpoint_ids (default: all). */
  pillows?: string[];
}

export const checkpointSql = `
select checkpoint_id, topic, partition, "offset"::float8 as "offset",
       extract(epoch from now() - coalesce(doc_modification_time, last_modified))::float8 as change_age_s,
       extract(epoch from now() - last_modified)::float8 as checkpoint_age_s,
       (doc_modification_time is not null) as has_doc_time
  from pillowtop_kafkacheckpoint`;

export interface CheckpointRow {
  checkpoint_id: string;
  topic: string;
  partition: number;
  offset: number;
  change_age_s: number;
  checkpoint_age_s: number;
  has_doc_time: boolean;
}

/**
 * End offsets seen per topic partition over time, as runs of equal values: `[tFirst, tLast, end]`. Tells, for an
 * offset o, the last time the end offset was still <= o, i.e. a time before which message o did not exist.
 */
export class EndOffsetHistory {
  private runs = new Map<string, Array<{ tFirst: number; tLast: number; end: number }>>();
  private static readonly maxRuns = 10_000;

  observe(tMs: number, ends: Map<string, Map<number, { high: number }>>): void {
    for (const [topic, parts] of ends) {
      for (const [partition, { high }] of parts) {
        const key = `${topic}\u0000${partition}`;
        let list = this.runs.get(key);
        if (!list) this.runs.set(key, (list = []));
        const last = list[list.length - 1];
        if (last && last.end === high) last.tLast = tMs;
        else if (last && high < last.end)
          list.splice(0, list.length, { tFirst: tMs, tLast: tMs, end: high }); // topic recreated
        else list.push({ tFirst: tMs, tLast: tMs, end: high });
        if (list.length > EndOffsetHistory.maxRuns) list.splice(0, list.length - EndOffsetHistory.maxRuns);
      }
    }
  }

  /** The last time the end offset was <= offset, when a later reading shows it past offset; else undefined. */
  publishedAfter(topic: string, partition: number, offset: number): number | undefined {
    const list = this.runs.get(`${topic}\u0000${partition}`);
    if (!list || list.length < 2) return undefined;
    // first run whose end is past offset (runs are in increasing end order)
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.end > offset) hi = mid;
      else lo = mid + 1;
    }
    if (lo === 0 || lo === list.length) return undefined;
    return list[lo - 1]!.tLast;
  }

  /** Drops runs no checkpoint can need any more (keeps the run just before the slowest checkpoint). */
  prune(rows: Array<{ topic: string; partition: number; offset: number }>): void {
    const minOffset = new Map<string, number>();
    for (const r of rows) {
      const key = `${r.topic}\u0000${r.partition}`;
      minOffset.set(key, Math.min(minOffset.get(key) ?? Infinity, Number(r.offset)));
    }
    for (const [key, list] of this.runs) {
      const min = minOffset.get(key);
      if (min === undefined) {
        this.runs.delete(key);
        continue;
      }
      let firstNeeded = 0;
      while (firstNeeded + 1 < list.length && list[firstNeeded + 1]!.end <= min) firstNeeded++;
      if (firstNeeded > 0) list.splice(0, firstNeeded);
    }
  }
}

/** Lag samples from checkpoint rows and Kafka end offsets. */
export function pillowSamples(
  now: Date,
  host: string,
  rows: CheckpointRow[],
  ends: Map<string, Map<number, { high: number }>>,
  rates: RateTracker,
  history = new EndOffsetHistory(),
): Sample[] {
  history.observe(now.getTime(), ends);
  const t = now.getTime();
  const out: Sample[] = [];
  const perPillow = new Map<string, { lag: number; timeLag: number; processed?: number }>();
  const seen = new Set<string>();
  for (const r of rows) {
    const labels = { pillow: r.checkpoint_id, topic: r.topic, partition: String(r.partition) };
    const end = ends.get(r.topic)?.get(Number(r.partition))?.high;
    const offset = Number(r.offset);
    const key = `${r.checkpoint_id}\u0000${r.topic}\u0000${r.partition}`;
    seen.add(key);
    const processed = rates.rate(key, offset, t);
    const agg = perPillow.get(r.checkpoint_id) ?? { lag: 0, timeLag: 0 };
    if (end !== undefined) {
      const lag = end - offset;
      let timeLag = 0;
      let from = 'caught_up';
      if (lag > 0) {
        timeLag = Math.max(0, Number(r.change_age_s));
        from = r.has_doc_time ? 'doc_modification_time' : 'last_modified';
        const after = history.publishedAfter(r.topic, Number(r.partition), offset);
        if (after !== undefined && (t - after) / 1000 < timeLag) {
          timeLag = Math.max(0, (t - after) / 1000);
          from = 'kafka_end_offsets';
        }
      }
      out.push(sample(now, 'pillows', host, 'offset_lag', lag, labels));
      out.push(sample(now, 'pillows', host, 'time_lag_s', timeLag, { ...labels, from }));
      agg.lag += Math.max(0, lag);
      agg.timeLag = Math.max(agg.timeLag, timeLag);
    }
    out.push(sample(now, 'pillows', host, 'checkpoint_offset', offset, labels));
    out.push(sample(now, 'pillows', host, 'checkpoint_age_s', Math.max(0, Number(r.checkpoint_age_s)), labels));
    if (processed !== undefined) {
      out.push(sample(now, 'pillows', host, 'processed_per_s', processed, labels));
      agg.processed = (agg.processed ?? 0) + processed;
    }
    perPillow.set(r.checkpoint_id, agg);
  }
  rates.retain(seen);
  history.prune(rows);
  for (const [pillow, a] of perPillow) {
    out.push(sample(now, 'pillows', host, 'offset_lag_total', a.lag, { pillow }));
    out.push(sample(now, 'pillows', host, 'time_lag_max_s', a.timeLag, { pillow }));
    if (a.processed !== undefined) out.push(sample(now, 'pillows', host, 'processed_per_s_total', a.processed, { pillow }));
  }
  return out;
}

export function pillowCollector(target: PillowTarget, opts: { timeoutMs?: number; handle?: KafkaAdminHandle } = {}): Collector {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const kafka = opts.handle ?? new KafkaAdminHandle(target.kafkaBrokers, timeoutMs);
  const rates = new RateTracker();
  const history = new EndOffsetHistory();
  let client: pg.Client | undefined;
  const db = async (): Promise<pg.Client> => {
    if (client) return client;
    const cl = await openCollectorClient(target.postgresUrl, timeoutMs, (lost) => {
      if (client === lost) client = undefined;
    });
    client = cl;
    return cl;
  };
  const c: Collector = {
    name: `pillows@${target.host}`,
    source: 'pillows',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const cl = await db();
      let rows: CheckpointRow[];
      try {
        const res = target.pillows
          ? await cl.query(`${checkpointSql} where checkpoint_id = any($1)`, [target.pillows])
          : await cl.query(checkpointSql);
        rows = res.rows as CheckpointRow[];
      } catch (err) {
        if (!(err instanceof Error && 'severity' in err)) {
          client = undefined;
          cl.end().catch(() => undefined);
        }
        // a monitoring role (pg_monitor) reads PostgreSQL's statistics, not HQ's tables: say the one grant needed
        if ((err as { code?: string }).code === '42501') {
          throw new Error(
            `permission denied for pillowtop_kafkacheckpoint: grant select on pillowtop_kafkacheckpoint to ${cl.user ?? 'the monitoring role'}`,
            { cause: err },
          );
        }
        throw err;
      }
      const topics = [...new Set(rows.map((r) => r.topic))];
      const { ends, errors } = await kafka.endOffsetsSettled(topics, now.getTime());
      // a checkpoint on a topic Kafka cannot answer for (deleted, renamed): that topic alone is a gap
      const gaps = [...errors].map(([topic, err]) => gapSample(now, c, err, `topic ${topic}`));
      return [...gaps, ...pillowSamples(now, target.host, rows, ends, rates, history)];
    },
    async close() {
      const cl = client;
      client = undefined;
      await Promise.all([cl?.end().catch(() => undefined), kafka.close()]);
    },
  };
  return c;
}
