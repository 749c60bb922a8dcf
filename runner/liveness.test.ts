import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LivenessFollower } from './liveness.ts';

describe('liveness follower', () => {
  it('writes every ack from the request log and follows the forms the VUs marked until a search sees it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'live-'));
    const log = path.join(dir, 'console.ndjson');
    // An HTTP server answering _mget as Elasticsearch would (unit test of our polling, not of ES):
    // f2 becomes searchable on the second poll, f4 never does.
    let polls = 0;
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        polls++;
        assert.match(req.url ?? '', /\/xforms\/_mget\?_source=false&realtime=false/);
        const ids = (JSON.parse(body) as { ids: string[] }).ids;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ docs: ids.map((id) => ({ _id: id, found: id === 'f2' && polls > 1 })) }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const f = new LivenessFollower({
      consoleLog: log,
      acksFile: path.join(dir, 'acks.ndjson'),
      livenessFile: path.join(dir, 'live.ndjson'),
      elasticsearchUrl: `http://127.0.0.1:${port}`,
      pollMs: 20,
      giveUpMs: 60_000,
    });
    const now = Date.now();
    const req = (ack: string | undefined, w: number, follow = false) =>
      JSON.stringify({
        e: 'receiver',
        t: now,
        d: 3.5,
        s: ack ? 201 : 500,
        ok: ack ? 1 : 0,
        w,
        form: 'delivery',
        ...(ack ? { ack } : {}),
        ...(follow ? { f: 1 } : {}),
      });
    fs.writeFileSync(log, [req('f1', 0), req('f2', 1, true), req(undefined, 5), 'Request Failed', ''].join('\n'));
    // a line still being written is not read until complete
    fs.appendFileSync(log, req('f3', 2).slice(0, 10));
    await f.tick();
    assert.equal(f.stats.acks, 2);
    assert.equal(
      fs.readFileSync(path.join(dir, 'acks.ndjson'), 'utf8').trim().split('\n').length,
      2,
      'a failed submission is a request, not an ack',
    );
    fs.appendFileSync(log, req('f3', 2).slice(10) + '\n' + req('f4', 3, true) + '\n');
    await f.tick();
    await f.stop(200);
    srv.close();
    const acks = fs
      .readFileSync(path.join(dir, 'acks.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).ack);
    assert.deepEqual(acks, ['f1', 'f2', 'f3', 'f4']);
    const live = fs
      .readFileSync(path.join(dir, 'live.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(f.stats.followed, 2); // the marked ones: f2 and f4
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'acks.ndjson'), 'utf8').split('\n')[0]!), {
      ack: 'f1',
      t: now,
      w: 0,
      form: 'delivery',
    });
    const f2 = live.find((l) => l.formId === 'f2');
    assert.ok(f2.lagMs >= 0 && f2.searchableAt >= f2.ackedAt);
    const f4 = live.find((l) => l.formId === 'f4');
    assert.equal(f4.searchableAt, undefined, 'never searchable is recorded as such');
  });
});
