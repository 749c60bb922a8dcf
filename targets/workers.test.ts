import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { HqApiClient } from './hq-api.ts';
import { checkPrefix, listWorkers, workerNames } from './workers.ts';

describe('mobile workers through the API', () => {
  it('names: <prefix>0001.. padded to the count; a prefix must start with a letter', () => {
    assert.deepEqual(workerNames('lt', 3), ['lt0001', 'lt0002', 'lt0003']);
    assert.equal(workerNames('lt', 12_000)[11_999], 'lt12000');
    assert.throws(
      () => checkPrefix('1x'),
      (e: unknown) => e instanceof UserError && /--prefix "1x" must start with a letter/.test(e.message),
    );
  });

  it("lists every page, whatever form HQ's next takes (a full URL, a path, the query alone)", async () => {
    const pages: Record<string, { next: string | null; ids: string[] }> = {
      '0': { next: 'http://elsewhere.example/a/d/api/v0.5/user/?limit=2&offset=2', ids: ['a', 'b'] },
      '2': { next: '/a/d/api/v0.5/user/?limit=2&offset=4', ids: ['c', 'd'] },
      '4': { next: '?limit=2&offset=6', ids: ['e', 'f'] },
      '6': { next: null, ids: ['g'] },
    };
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url!);
      const offset = new URL(req.url!, 'http://x').searchParams.get('offset') ?? '0';
      const page = pages[offset]!;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ meta: { next: page.next }, objects: page.ids.map((id) => ({ id, username: `${id}@d.commcarehq.org` })) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = new HqApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'u:k' });
      assert.deepEqual(
        (await listWorkers(client, 'd')).map((u) => u.id),
        ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      );
      assert.ok(
        seen.every((u) => u.startsWith('/a/d/api/v0.5/user/?limit=')),
        seen.join(' '),
      );
    } finally {
      server.close();
    }
  });
});
