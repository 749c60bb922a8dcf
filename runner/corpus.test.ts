import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeCorpus } from '../generators/node/corpus.ts';
import { loadApp } from '../generators/node/apps.ts';
import { bodyBytes, corpusKey, k6MemoryEstimate, memAvailable, writeBodyPacks } from './corpus.ts';
import type { PackLayout, WorkerPackIndex } from '../scenarios/lib/bodies.ts';

describe('body packs', () => {
  it("pack every worker's bodies in timeline order with their form and content type, byte for byte", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packs-'));
    const { app, source } = loadApp('household');
    await writeCorpus({ app, appSource: source, population: { seed: 7, domain: 'packs', users: 3 }, count: 12, out: dir, multipart: true });
    writeBodyPacks(dir);
    const layout = JSON.parse(fs.readFileSync(path.join(dir, 'bodies', 'layout.json'), 'utf8')) as PackLayout;
    const users = JSON.parse(fs.readFileSync(path.join(dir, 'users.json'), 'utf8')) as { file: string }[];
    let total = 0;
    users.forEach((u, w) => {
      const lines = fs
        .readFileSync(path.join(dir, u.file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { form: string; contentType: string; body64: string });
      const index = JSON.parse(fs.readFileSync(path.join(dir, 'bodies', `w${w}.json`), 'utf8')) as WorkerPackIndex;
      const pack = fs.readFileSync(path.join(dir, 'bodies', `w${w}.bin`));
      assert.equal(index.lengths.length, lines.length);
      let at = 0;
      lines.forEach((l, k) => {
        assert.equal(layout.forms[index.forms[k]!], l.form);
        assert.equal(index.types[k], l.contentType);
        assert.ok(pack.subarray(at, at + index.lengths[k]!).equals(Buffer.from(l.body64, 'base64')), `worker ${w} form ${k}`);
        at += index.lengths[k]!;
      });
      total += pack.length;
    });
    assert.equal(bodyBytes(dir), total);
    // packs of an older format are written again
    fs.writeFileSync(path.join(dir, 'bodies', 'layout.json'), JSON.stringify({ format: 2, forms: [] }));
    writeBodyPacks(dir);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'bodies', 'layout.json'), 'utf8')), layout);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("estimates k6's memory from the bodies and reads what this machine has available", () => {
    assert.ok(k6MemoryEstimate(327e6) > 1.3e9 && k6MemoryEstimate(327e6) < 1.6e9, 'measured 1.4 GB for 327 MB of bodies');
    const avail = memAvailable();
    if (fs.existsSync('/proc/meminfo')) assert.ok(avail !== undefined && avail > 0);
  });

  it('the cache key names the identities: other real workers, another corpus; none, the same key as before', () => {
    const spec = { app: 'household', users: 2, count: 10, seed: 3, domain: 'd' };
    const a = [
      { userId: 'u1', username: 'a' },
      { userId: 'u2', username: 'b' },
    ];
    const b = [
      { userId: 'u1', username: 'a' },
      { userId: 'u3', username: 'b' },
    ];
    assert.notEqual(corpusKey({ ...spec, identities: a }, 'app'), corpusKey({ ...spec, identities: b }, 'app'));
    assert.notEqual(corpusKey({ ...spec, identities: a }, 'app'), corpusKey(spec, 'app'));
    assert.equal(corpusKey({ ...spec, identities: undefined }, 'app'), corpusKey(spec, 'app'));
  });
});
