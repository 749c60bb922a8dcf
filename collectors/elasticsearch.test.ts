import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { clusterSamples, nodeSamples, nodesStatsPath, type NodesStatsResponse } from './elasticsearch.ts';
import { RateTracker } from './rates.ts';
import type { Sample } from './types.ts';

const recorded = JSON.parse(
  fs.readFileSync(new URL('./fixtures/es-8.19.4-nodes-stats.json', import.meta.url), 'utf8'),
) as NodesStatsResponse;
const find = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.filter((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).length;
const val = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('Elasticsearch node samples', () => {
  it('asks for the same node stats in every version (indices sub-metrics, filter_path)', () => {
    assert.match(
      nodesStatsPath,
      /^_nodes\/stats\/indices,jvm,os,process,thread_pool\/docs,store,indexing,search,refresh,merge,flush\?filter_path=/,
    );
    assert.match(nodesStatsPath, /nodes\.\*\.thread_pool\.bulk/, 'ES < 6.3 calls the write pool "bulk"');
  });

  it('reads gauges from a recorded ES 8.19 reading and rates/latencies from deltas', () => {
    const rates = new RateTracker();
    const [id, node] = Object.entries(recorded.nodes!)[0]!;
    const first = nodeSamples(new Date(0), recorded, rates, (n) => n.host ?? id);
    assert.equal(val(first, 'docs'), node.indices!.docs!.count);
    assert.equal(val(first, 'store_bytes'), node.indices!.store!.size_in_bytes);
    assert.equal(val(first, 'heap_used_bytes'), node.jvm!.mem!.heap_used_in_bytes);
    assert.equal(val(first, 'threadpool_queue', { pool: 'write' }), node.thread_pool!.write!.queue);
    assert.equal(val(first, 'indexing_per_s'), undefined);
    assert.ok(first.every((s) => s.host === '127.0.0.1' && s.labels.node === 'capacity-es'));

    const next = structuredClone(recorded);
    const n = Object.values(next.nodes!)[0]!;
    const ix = n.indices!;
    ix.indexing!.index_total! += 1000; // 1000 docs in 2 s, 3000 ms of indexing time
    ix.indexing!.index_time_in_millis! += 3000;
    ix.search!.query_total! += 40;
    ix.search!.query_time_in_millis! += 200;
    ix.refresh!.total! += 4;
    ix.refresh!.total_time_in_millis! += 80;
    ix.merges!.total! += 2;
    ix.merges!.total_time_in_millis! += 500;
    n.jvm!.gc!.collectors!.young!.collection_count! += 3;
    n.jvm!.gc!.collectors!.young!.collection_time_in_millis! += 60;
    n.thread_pool!.write!.rejected! += 10;
    const s = nodeSamples(new Date(2000), next, rates, (x) => x.host ?? id);
    assert.equal(val(s, 'indexing_per_s'), 500);
    assert.equal(val(s, 'indexing_ms_per_doc'), 3);
    assert.equal(val(s, 'search_per_s'), 20);
    assert.equal(val(s, 'search_query_ms'), 5);
    assert.equal(val(s, 'refresh_per_s'), 2);
    assert.equal(val(s, 'refresh_ms'), 20);
    assert.equal(val(s, 'merges_per_s'), 1);
    assert.equal(val(s, 'merge_ms'), 250);
    assert.equal(val(s, 'gc_per_s', { gc: 'young' }), 1.5);
    assert.equal(val(s, 'gc_ms_per_s', { gc: 'young' }), 30);
    assert.equal(val(s, 'gc_per_s', { gc: 'old' }), 0);
    assert.equal(val(s, 'threadpool_rejected_per_s', { pool: 'write' }), 5);
    assert.equal(val(s, 'search_fetch_ms'), undefined, 'no fetches in the interval: no latency rather than 0');
  });

  for (const version of ['es-6.8.23', 'es-7.17.28', 'es-8.19.4', 'opensearch-2.19.1']) {
    it(`reads node stats recorded from ${version}`, () => {
      const resp = JSON.parse(
        fs.readFileSync(new URL(`./fixtures/${version}-nodes-stats.json`, import.meta.url), 'utf8'),
      ) as NodesStatsResponse;
      const s = nodeSamples(new Date(0), resp, new RateTracker(), (n) => n.host ?? '?');
      for (const m of [
        'docs',
        'store_bytes',
        'heap_used_bytes',
        'heap_used_pct',
        'indexing_current',
        'merges_current',
        'os_cpu_pct',
        'process_cpu_pct',
      ]) {
        assert.equal(find(s, m), 1, `${version}: ${m}`);
      }
      for (const pool of ['write', 'search', 'get', 'refresh'])
        assert.equal(find(s, 'threadpool_queue', { pool }), 1, `${version}: ${pool} pool`);
      assert.ok(find(s, 'threadpool_rejected') >= 4);
    });
  }

  it('reads an ES 6.2-shaped node (bulk/index pools, no write pool)', () => {
    const old: NodesStatsResponse = {
      nodes: {
        a: {
          name: 'es1',
          host: '10.0.0.5',
          indices: { docs: { count: 10 }, indexing: { index_total: 5, index_time_in_millis: 7 } },
          jvm: { mem: { heap_used_in_bytes: 50, heap_max_in_bytes: 200 } },
          thread_pool: { bulk: { queue: 3, active: 2, rejected: 0 }, index: { queue: 0, active: 0, rejected: 0 } },
        },
      },
    };
    const s = nodeSamples(new Date(0), old, new RateTracker(), () => 'es-vm');
    assert.equal(val(s, 'threadpool_queue', { pool: 'bulk' }), 3);
    assert.equal(val(s, 'heap_used_pct'), 25);
    assert.ok(s.every((x) => x.host === 'es-vm'));
  });

  it('codes cluster health', () => {
    const s = clusterSamples(new Date(0), 'es1', { status: 'yellow', number_of_nodes: 1, unassigned_shards: 5 });
    assert.equal(val(s, 'cluster_status'), 1);
    assert.equal(val(s, 'unassigned_shards'), 5);
  });
});
