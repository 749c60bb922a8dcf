// Redis INFO through ioredis: memory, clients, command and hit rates, evictions, keys.
import { Redis } from 'ioredis';
import { RateTracker, deltaRatio } from './rates.ts';
import { errorText, sample, type Collector, type Sample } from './types.ts';

/** INFO's `key:value` lines, grouped by `# Section` (lower-cased). */
export function parseRedisInfo(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = 'default';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      section = line.slice(1).trim().toLowerCase();
      out[section] ??= {};
      continue;
    }
    const i = line.indexOf(':');
    if (i < 0) continue;
    (out[section] ??= {})[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** `keys=12,expires=0,avg_ttl=0` -> { keys: 12, ... } */
export function parseKeyspaceValue(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',')) {
    const [k, n] = part.split('=');
    if (k && n !== undefined && n !== '' && Number.isFinite(Number(n))) out[k] = Number(n);
  }
  return out;
}

export interface RedisTarget {
  url: string;
  host: string;
}

const gauges: Array<[string, string]> = [
  ['connected_clients', 'connected_clients'],
  ['blocked_clients', 'blocked_clients'],
  ['used_memory', 'used_memory_bytes'],
  ['used_memory_rss', 'used_memory_rss_bytes'],
  ['maxmemory', 'maxmemory_bytes'],
  ['mem_fragmentation_ratio', 'mem_fragmentation_ratio'],
];
const counters: Array<[string, string]> = [
  ['total_commands_processed', 'commands_per_s'],
  ['total_connections_received', 'connections_per_s'],
  ['rejected_connections', 'rejected_connections_per_s'],
  ['evicted_keys', 'evicted_keys_per_s'],
  ['expired_keys', 'expired_keys_per_s'],
  ['total_net_input_bytes', 'net_input_bytes_per_s'],
  ['total_net_output_bytes', 'net_output_bytes_per_s'],
];

export function redisCollector(target: RedisTarget, opts: { timeoutMs?: number } = {}): Collector {
  const rates = new RateTracker();
  let client: Redis | undefined;
  const connect = (): Redis => {
    if (client) return client;
    client = new Redis(target.url, {
      lazyConnect: false,
      connectTimeout: opts.timeoutMs ?? 3000,
      commandTimeout: opts.timeoutMs ?? 3000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // keep trying in the background; while down, commands fail at once (a gap) instead of queueing
      retryStrategy: () => 500,
    });
    client.on('error', (e: Error) => {
      lastError = errorText(e); // reported through the failing reading, as a gap
    });
    return client;
  };
  let lastError: string | undefined;
  // Redis 7 takes several sections at once (a fifth of the full INFO); older servers answer a syntax error
  let multiSection = true;
  const readInfo = async (r: Redis): Promise<string> => {
    if (multiSection) {
      try {
        return (await r.call('INFO', 'clients', 'memory', 'stats', 'keyspace')) as string;
      } catch (err) {
        if (!(err instanceof Error && /syntax|wrong number/i.test(err.message))) throw err;
        multiSection = false;
      }
    }
    return r.info();
  };
  /** Waits for the first connection; once connected, a lost connection fails at once (a gap) while ioredis reconnects. */
  const waitReady = async (r: Redis): Promise<void> => {
    if (r.status === 'ready') return;
    if (r.status !== 'connecting' && r.status !== 'connect' && r.status !== 'wait') {
      throw new Error(`redis ${target.host}: not connected (${r.status}${lastError ? `: ${lastError}` : ''})`);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`redis ${target.host}: not ready after ${opts.timeoutMs ?? 3000} ms (${r.status})`)),
        opts.timeoutMs ?? 3000,
      );
      const onReady = () => done();
      const onErr = (e: Error) => done(e);
      const done = (e?: Error) => {
        clearTimeout(timer);
        r.off('ready', onReady);
        r.off('error', onErr);
        if (e) reject(e);
        else resolve();
      };
      r.once('ready', onReady);
      r.once('error', onErr);
    });
  };
  return {
    name: `redis@${target.host}`,
    source: 'redis',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const r = connect();
      await waitReady(r);
      const info = parseRedisInfo(await readInfo(r));
      const flat: Record<string, string> = Object.assign({}, ...Object.values(info));
      const t = now.getTime();
      const out: Sample[] = [];
      const add = (metric: string, value: number | undefined, labels?: Record<string, string>) => {
        if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'redis', target.host, metric, value, labels));
      };
      for (const [key, metric] of gauges) if (flat[key] !== undefined) add(metric, Number(flat[key]));
      for (const [key, metric] of counters) if (flat[key] !== undefined) add(metric, rates.rate(key, Number(flat[key]), t));
      const hits = rates.delta('keyspace_hits', Number(flat.keyspace_hits ?? NaN), t);
      const misses = rates.delta('keyspace_misses', Number(flat.keyspace_misses ?? NaN), t);
      if (hits && misses) add('hit_ratio', deltaRatio(hits.delta, hits.delta + misses.delta));
      for (const [db, v] of Object.entries(info.keyspace ?? {})) add('keys', parseKeyspaceValue(v).keys, { db });
      return out;
    },
    async close() {
      client?.disconnect();
      client = undefined;
    },
  };
}
