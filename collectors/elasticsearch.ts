// Elasticsearch / OpenSearch: per node indexing, search, refresh, merge, JVM heap and GC, docs and store,
// thread pools; cluster health; per index doc counts (the figure `_count` gives) and store size.
//
// Plain HTTP rather than @elastic/elasticsearch: the 8.x client refuses OpenSearch and ES 6 (product check),
// its info() needs `GET /` (which the integ-test distribution does not serve), and these few GETs read the
// same in ES 6, 7, 8 and OpenSearch 1-2 (`thread_pool.write` is `bulk`/`index` before ES 6.3; both are read).
import { httpGetJson, joinUrl } from './http.ts';
import { RateTracker, deltaRatio } from './rates.ts';
import { errorText, gapSample, sample, type Collector, type Sample } from './types.ts';

interface TimedTotal {
  total?: number;
  total_time_in_millis?: number;
}
interface NodeStats {
  name?: string;
  host?: string;
  indices?: {
    docs?: { count?: number; deleted?: number };
    store?: { size_in_bytes?: number };
    indexing?: {
      index_total?: number;
      index_time_in_millis?: number;
      index_current?: number;
      index_failed?: number;
      throttle_time_in_millis?: number;
    };
    search?: {
      query_total?: number;
      query_time_in_millis?: number;
      query_current?: number;
      fetch_total?: number;
      fetch_time_in_millis?: number;
    };
    refresh?: TimedTotal;
    merges?: TimedTotal & { current?: number };
    flush?: TimedTotal;
  };
  jvm?: {
    mem?: { heap_used_in_bytes?: number; heap_max_in_bytes?: number };
    gc?: { collectors?: Record<string, { collection_count?: number; collection_time_in_millis?: number }> };
  };
  os?: { cpu?: { percent?: number } };
  process?: { cpu?: { percent?: number } };
  thread_pool?: Record<string, { threads?: number; queue?: number; active?: number; rejected?: number }>;
}
export interface NodesStatsResponse {
  nodes?: Record<string, NodeStats>;
}
export interface ClusterHealth {
  status?: string;
  number_of_nodes?: number;
  active_shards?: number;
  relocating_shards?: number;
  initializing_shards?: number;
  unassigned_shards?: number;
  number_of_pending_tasks?: number;
}

/** Pools that matter under CommCare's load: pillows write (bulk), users search. */
export const watchedPools = ['write', 'bulk', 'index', 'search', 'get', 'refresh', 'flush', 'merge', 'force_merge', 'management'];

export const nodesStatsPath =
  '_nodes/stats/indices,jvm,os,process,thread_pool/docs,store,indexing,search,refresh,merge,flush?filter_path=' +
  [
    'nodes.*.name',
    'nodes.*.host',
    'nodes.*.indices',
    'nodes.*.jvm.mem.heap_used_in_bytes',
    'nodes.*.jvm.mem.heap_max_in_bytes',
    'nodes.*.jvm.gc',
    'nodes.*.os.cpu.percent',
    'nodes.*.process.cpu.percent',
    ...watchedPools.map((p) => `nodes.*.thread_pool.${p}`),
  ].join(',');

const healthCode: Record<string, number> = { green: 0, yellow: 1, red: 2 };

export interface ElasticsearchTarget {
  url: string;
  /** Sample.host for cluster-wide figures; node figures use the node's host (mapped through hostNames). */
  host: string;
  /** Node address (or name) -> topology host name. */
  hostNames?: Record<string, string>;
}

export interface ElasticsearchOptions {
  timeoutMs?: number;
  /** Per index doc counts and sizes are read at most this often (they cost a request per index). Default 30 s; 0 = every tick. */
  indexEveryMs?: number;
}

/** Node samples from one reading of _nodes/stats; rates and per-operation latencies from deltas in `rates`. */
export function nodeSamples(
  now: Date,
  resp: NodesStatsResponse,
  rates: RateTracker,
  hostOf: (n: NodeStats, id: string) => string,
): Sample[] {
  const t = now.getTime();
  const out: Sample[] = [];
  for (const [id, n] of Object.entries(resp.nodes ?? {})) {
    const host = hostOf(n, id);
    const labels = { node: n.name ?? id };
    const add = (metric: string, value: number | undefined, extra?: Record<string, string>) => {
      if (value !== undefined && Number.isFinite(value))
        out.push(sample(now, 'elasticsearch', host, metric, value, { ...labels, ...extra }));
    };
    const k = (s: string) => `${id}.${s}`;
    const ix = n.indices ?? {};
    add('docs', ix.docs?.count);
    add('docs_deleted', ix.docs?.deleted);
    add('store_bytes', ix.store?.size_in_bytes);
    // per-operation time over the interval: delta(time) / delta(count)
    const perOp = (name: string, count: number | undefined, ms: number | undefined) => {
      if (count === undefined || ms === undefined) return { rate: undefined, latency: undefined };
      const dc = rates.delta(k(`${name}.n`), count, t);
      const dm = rates.delta(k(`${name}.ms`), ms, t);
      return {
        rate: dc && dc.dtMs > 0 ? (dc.delta * 1000) / dc.dtMs : undefined,
        latency: dc && dm ? deltaRatio(dm.delta, dc.delta) : undefined,
      };
    };
    const idx = perOp('index', ix.indexing?.index_total, ix.indexing?.index_time_in_millis);
    add('indexing_per_s', idx.rate);
    add('indexing_ms_per_doc', idx.latency);
    add('indexing_current', ix.indexing?.index_current);
    if (ix.indexing?.index_failed !== undefined) add('indexing_failed_per_s', rates.rate(k('index.failed'), ix.indexing.index_failed, t));
    if (ix.indexing?.throttle_time_in_millis !== undefined)
      add('indexing_throttle_ms_per_s', rates.rate(k('index.throttle'), ix.indexing.throttle_time_in_millis, t));
    const q = perOp('query', ix.search?.query_total, ix.search?.query_time_in_millis);
    add('search_per_s', q.rate);
    add('search_query_ms', q.latency);
    add('search_current', ix.search?.query_current);
    const f = perOp('fetch', ix.search?.fetch_total, ix.search?.fetch_time_in_millis);
    add('search_fetch_ms', f.latency);
    const r = perOp('refresh', ix.refresh?.total, ix.refresh?.total_time_in_millis);
    add('refresh_per_s', r.rate);
    add('refresh_ms', r.latency);
    const m = perOp('merge', ix.merges?.total, ix.merges?.total_time_in_millis);
    add('merges_per_s', m.rate);
    add('merge_ms', m.latency);
    add('merges_current', ix.merges?.current);
    const fl = perOp('flush', ix.flush?.total, ix.flush?.total_time_in_millis);
    add('flush_per_s', fl.rate);
    const heap = n.jvm?.mem;
    add('heap_used_bytes', heap?.heap_used_in_bytes);
    add('heap_max_bytes', heap?.heap_max_in_bytes);
    if (heap?.heap_used_in_bytes !== undefined && heap.heap_max_in_bytes)
      add('heap_used_pct', (100 * heap.heap_used_in_bytes) / heap.heap_max_in_bytes);
    for (const [gen, g] of Object.entries(n.jvm?.gc?.collectors ?? {})) {
      if (g.collection_count !== undefined) add('gc_per_s', rates.rate(k(`gc.${gen}.n`), g.collection_count, t), { gc: gen });
      // milliseconds of GC per second of wall time (1000 = all the time in GC)
      if (g.collection_time_in_millis !== undefined)
        add('gc_ms_per_s', rates.rate(k(`gc.${gen}.ms`), g.collection_time_in_millis, t), { gc: gen });
    }
    add('os_cpu_pct', n.os?.cpu?.percent);
    add('process_cpu_pct', n.process?.cpu?.percent);
    for (const [pool, p] of Object.entries(n.thread_pool ?? {})) {
      const pl = { pool };
      add('threadpool_queue', p.queue, pl);
      add('threadpool_active', p.active, pl);
      add('threadpool_rejected', p.rejected, pl);
      if (p.rejected !== undefined) add('threadpool_rejected_per_s', rates.rate(k(`tp.${pool}.rejected`), p.rejected, t), pl);
    }
  }
  return out;
}

export function clusterSamples(now: Date, host: string, h: ClusterHealth): Sample[] {
  const out: Sample[] = [];
  const add = (metric: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'elasticsearch', host, metric, value));
  };
  if (h.status !== undefined)
    out.push(sample(now, 'elasticsearch', host, 'cluster_status', healthCode[h.status] ?? 3, { status: h.status }));
  add('cluster_nodes', h.number_of_nodes);
  add('active_shards', h.active_shards);
  add('relocating_shards', h.relocating_shards);
  add('initializing_shards', h.initializing_shards);
  add('unassigned_shards', h.unassigned_shards);
  add('pending_tasks', h.number_of_pending_tasks);
  return out;
}

interface CatIndex {
  index?: string;
  status?: string;
  health?: string;
  'docs.count'?: string | null;
  'store.size'?: string | null;
}

export function elasticsearchCollector(target: ElasticsearchTarget, opts: ElasticsearchOptions = {}): Collector {
  const rates = new RateTracker();
  const timeoutMs = opts.timeoutMs;
  const indexEvery = opts.indexEveryMs ?? 30_000;
  let lastIndexRead = -Infinity;
  const c: Collector = {
    name: `elasticsearch@${target.host}`,
    source: 'elasticsearch',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const hostOf = (n: NodeStats, id: string) =>
        (n.host && target.hostNames?.[n.host]) ?? (n.name && target.hostNames?.[n.name]) ?? n.host ?? n.name ?? id;
      const [stats, health] = await Promise.all([
        httpGetJson<NodesStatsResponse>(joinUrl(target.url, nodesStatsPath), { timeoutMs }),
        httpGetJson<ClusterHealth>(joinUrl(target.url, '_cluster/health'), { timeoutMs }),
      ]);
      const out = [...nodeSamples(now, stats, rates, hostOf), ...clusterSamples(now, target.host, health)];
      if (now.getTime() - lastIndexRead >= indexEvery) {
        lastIndexRead = now.getTime();
        try {
          out.push(...(await indexSamples(now, target, timeoutMs)));
        } catch (err) {
          out.push(gapSample(now, c, err, 'indices'));
        }
      }
      return out;
    },
  };
  return c;
}

/**
 * Per index: `_count` (top-level documents, as a search sees them) and store size (primaries + replicas).
 * Indices whose names start with "." (system, hidden) and closed ones are left out. An index whose `_count`
 * fails is reported as a gap for that index; the others are still counted.
 */
export async function indexSamples(now: Date, target: Pick<ElasticsearchTarget, 'url' | 'host'>, timeoutMs?: number): Promise<Sample[]> {
  // (no expand_wildcards: ES 6 refuses it on _cat; closed indices are filtered by status instead)
  const cat = await httpGetJson<CatIndex[]>(
    joinUrl(target.url, '_cat/indices?format=json&bytes=b&h=index,status,health,docs.count,store.size'),
    { timeoutMs },
  );
  const open = cat.filter((c): c is CatIndex & { index: string } => !!c.index && !c.index.startsWith('.') && c.status !== 'close');
  const counts = await Promise.allSettled(
    open.map((c) => httpGetJson<{ count?: number }>(joinUrl(target.url, `${encodeURIComponent(c.index)}/_count`), { timeoutMs })),
  );
  const out: Sample[] = [];
  open.forEach((c, i) => {
    const r = counts[i]!;
    const labels = { index: c.index };
    if (r.status === 'fulfilled' && r.value.count !== undefined)
      out.push(sample(now, 'elasticsearch', target.host, 'index_docs', r.value.count, labels));
    else if (r.status === 'rejected') {
      out.push({
        ...sample(now, 'elasticsearch', target.host, 'gap', 1, {
          collector: `elasticsearch@${target.host}`,
          part: 'index_docs',
          index: c.index,
        }),
        gap: true,
        error: errorText(r.reason),
      });
    }
    const size = Number(c['store.size']);
    if (c['store.size'] != null && Number.isFinite(size))
      out.push(sample(now, 'elasticsearch', target.host, 'index_store_bytes', size, labels));
  });
  return out;
}
