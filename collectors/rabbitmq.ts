// RabbitMQ queue depths and message rates from the management plugin's HTTP API (port 15672).
import { httpGetJson, joinUrl } from './http.ts';
import { RateTracker } from './rates.ts';
import { sample, type Collector, type Sample } from './types.ts';

interface MessageStats {
  publish?: number;
  deliver_get?: number;
  ack?: number;
  redeliver?: number;
}

export interface RabbitQueue {
  name: string;
  vhost: string;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
  message_stats?: MessageStats;
}

export interface RabbitOverview {
  rabbitmq_version?: string;
  queue_totals?: { messages?: number; messages_ready?: number; messages_unacknowledged?: number };
  object_totals?: { connections?: number; channels?: number; queues?: number; consumers?: number };
  message_stats?: MessageStats;
}

export const queueColumns = [
  'name',
  'vhost',
  'messages',
  'messages_ready',
  'messages_unacknowledged',
  'consumers',
  'message_stats.publish',
  'message_stats.deliver_get',
  'message_stats.ack',
].join(',');

export interface RabbitTarget {
  /** Management API base, e.g. http://guest:guest@rabbit1:15672/ */
  url: string;
  host: string;
}

/** Samples from one reading of /api/overview and /api/queues; `rates` keeps counters between readings. */
export function rabbitSamples(now: Date, host: string, overview: RabbitOverview, queues: RabbitQueue[], rates: RateTracker): Sample[] {
  const t = now.getTime();
  const out: Sample[] = [];
  const add = (metric: string, value: number | undefined, labels?: Record<string, string>) => {
    if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'rabbitmq', host, metric, value, labels));
  };
  const qt = overview.queue_totals ?? {};
  add('messages', qt.messages);
  add('messages_ready', qt.messages_ready);
  add('messages_unacked', qt.messages_unacknowledged);
  const ot = overview.object_totals ?? {};
  add('connections', ot.connections);
  add('queues', ot.queues);
  add('consumers', ot.consumers);
  const ms = overview.message_stats ?? {};
  if (ms.publish !== undefined) add('publish_per_s', rates.rate('publish', ms.publish, t));
  if (ms.deliver_get !== undefined) add('deliver_per_s', rates.rate('deliver_get', ms.deliver_get, t));
  if (ms.ack !== undefined) add('ack_per_s', rates.rate('ack', ms.ack, t));
  const seen = new Set(['publish', 'deliver_get', 'ack']);
  for (const q of queues) {
    const labels = { vhost: q.vhost, queue: q.name };
    add('queue_messages', q.messages, labels);
    add('queue_messages_ready', q.messages_ready, labels);
    add('queue_messages_unacked', q.messages_unacknowledged, labels);
    add('queue_consumers', q.consumers, labels);
    const key = `${q.vhost}\u0000${q.name}`;
    for (const [field, metric] of [
      ['publish', 'queue_publish_per_s'],
      ['deliver_get', 'queue_deliver_per_s'],
    ] as const) {
      const v = q.message_stats?.[field];
      if (v === undefined) continue;
      seen.add(`${field}\u0000${key}`);
      add(metric, rates.rate(`${field}\u0000${key}`, v, t), labels);
    }
  }
  rates.retain(seen);
  return out;
}

export function rabbitmqCollector(target: RabbitTarget, opts: { timeoutMs?: number } = {}): Collector {
  const rates = new RateTracker();
  return {
    name: `rabbitmq@${target.host}`,
    source: 'rabbitmq',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const [overview, queues] = await Promise.all([
        httpGetJson<RabbitOverview>(joinUrl(target.url, 'api/overview'), { timeoutMs: opts.timeoutMs }),
        httpGetJson<RabbitQueue[]>(joinUrl(target.url, `api/queues?columns=${queueColumns}`), { timeoutMs: opts.timeoutMs }),
      ]);
      if (!Array.isArray(queues)) throw new Error('RabbitMQ /api/queues did not return a list');
      return rabbitSamples(now, target.host, overview, queues, rates);
    },
  };
}
