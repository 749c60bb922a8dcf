// Elasticsearch collector against the real local node: per index doc counts equal `_count` (top-level
// documents, not Lucene's nested ones), indexing and search counted by the node stats.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { elasticsearchCollector, indexSamples } from '../../collectors/elasticsearch.ts';
import { httpGetJson } from '../../collectors/http.ts';
import type { Sample } from '../../collectors/types.ts';
import type { StackContext } from '../../stack/component.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { ensureStackUp } from './stack-fixture.ts';

const find = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.filter((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

async function es(ctx: StackContext, method: string, path: string, body?: unknown, ndjson = false): Promise<any> {
  const res = await fetch(`${elasticsearchUrl(ctx)}/${path}`, {
    method,
    headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    body: body === undefined ? undefined : ndjson ? (body as string) : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function bulk(ctx: StackContext, index: string, from: number, n: number): Promise<void> {
  const lines: string[] = [];
  for (let i = from; i < from + n; i++) {
    lines.push(JSON.stringify({ index: { _index: index, _id: `doc-${i}` } }));
    lines.push(
      JSON.stringify({
        case_type: 'household',
        n: i,
        properties: [
          { key: 'a', value: 'x' },
          { key: 'b', value: 'y' },
        ],
      }),
    );
  }
  const r = await es(ctx, 'POST', '_bulk?refresh=true', lines.join('\n') + '\n', true);
  assert.equal(r.errors, false);
}

describe('collectors: Elasticsearch', { timeout: 120_000 }, () => {
  let ctx: StackContext;
  const index = `cap-it-${randomUUID().slice(0, 8)}`;

  before(async () => {
    ctx = await ensureStackUp();
    // nested properties, like HQ's case index: Lucene holds 3 documents per case, `_count` says 1
    await es(ctx, 'PUT', index, {
      settings: { number_of_shards: 2, number_of_replicas: 0 },
      mappings: { properties: { properties: { type: 'nested' } } },
    });
  });
  after(async () => {
    await fetch(`${elasticsearchUrl(ctx)}/${index}`, { method: 'DELETE' }).catch(() => undefined);
  });

  it('doc counts per index equal _count, while indexing and searching are counted by the node', async () => {
    const c = elasticsearchCollector({ url: elasticsearchUrl(ctx), host: 'localhost' }, { indexEveryMs: 0 });
    try {
      const n0 = new Date();
      const s0 = await c.sample(n0);
      assert.deepEqual(
        s0.filter((x) => x.gap),
        [],
      );
      await bulk(ctx, index, 0, 300);
      for (let i = 0; i < 20; i++) await es(ctx, 'POST', `${index}/_search`, { query: { term: { n: i } } });
      const n1 = new Date();
      const s1 = await c.sample(n1);
      const dt = (n1.getTime() - n0.getTime()) / 1000; // the interval the rates are over
      const count = (await es(ctx, 'GET', `${index}/_count`)).count as number;
      assert.equal(count, 300);
      assert.equal(find(s1, 'index_docs', { index })[0]?.value, count, 'index_docs is what _count says');
      const cat = await httpGetJson<Array<{ 'docs.count': string }>>(
        `${elasticsearchUrl(ctx)}/_cat/indices/${index}?format=json&h=docs.count`,
      );
      assert.equal(Number(cat[0]!['docs.count']), 900, "Lucene's count includes the nested documents (so it is not used)");
      // node counters: at least our 300 documents and 20 searches (others may be indexing at the same time)
      const indexed = find(s1, 'indexing_per_s')[0]!.value * dt;
      assert.ok(indexed >= 299.5, `indexing counted ${indexed.toFixed(0)}`);
      const searched = find(s1, 'search_per_s')[0]!.value * dt;
      assert.ok(searched >= 39.5, `query phases counted ${searched.toFixed(1)} (2 shards per search)`);
      assert.ok(find(s1, 'indexing_ms_per_doc')[0]!.value >= 0);
      assert.ok(find(s1, 'heap_used_pct')[0]!.value > 0);
      assert.ok(find(s1, 'threadpool_queue', { pool: 'write' }).length === 1);
      assert.ok(find(s1, 'refresh_per_s')[0]!.value > 0, 'refresh=true refreshed');
      assert.equal(find(s1, 'cluster_status')[0]?.labels.status !== undefined, true);

      await bulk(ctx, index, 300, 45);
      const s2 = await indexSamples(new Date(), { url: elasticsearchUrl(ctx), host: 'localhost' });
      assert.equal(find(s2, 'index_docs', { index })[0]?.value, (await es(ctx, 'GET', `${index}/_count`)).count);
      assert.equal(find(s2, 'index_docs', { index })[0]?.value, 345);
    } finally {
      await c.close?.();
    }
  });
});
