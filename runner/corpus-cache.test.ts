import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { corpusCacheCap, markUsed, pruneCorpora } from './corpus-cache.ts';

const HOUR = 3600_000;

describe('corpus cache', () => {
  let root: string;
  const now = Date.now();

  /** a corpus of `mb` MB last used `hoursAgo` hours ago */
  function corpus(name: string, mb: number, hoursAgo: number | undefined): string {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, 'bodies'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
    fs.writeFileSync(path.join(dir, 'bodies', 'w0.bin'), Buffer.alloc(mb * 1e6));
    if (hoursAgo !== undefined) markUsed(dir, now - hoursAgo * HOUR);
    else {
      // a corpus from before the marker: its manifest's time counts
      const t = (now - 48 * HOUR) / 1000;
      fs.utimesSync(path.join(dir, 'manifest.json'), t, t);
    }
    return dir;
  }

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'corpora-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("removes the least recently used until under the cap, never the run's own nor one used within the hour", () => {
    corpus('old', 3, 30);
    corpus('legacy', 2, undefined);
    corpus('week', 3, 5);
    corpus('recent', 3, 0.5);
    corpus('mine', 3, 72);
    const out = pruneCorpora(root, { keep: 'mine', maxBytes: 7e6, now });
    assert.deepEqual(out.removed.sort(), ['legacy', 'old', 'week']);
    assert.equal(out.freedBytes, 8e6 + 3 * 2, 'their bodies and manifests');
    assert.equal(out.bytes, 6e6 + 4, 'mine and recent remain (with their manifests)');
    assert.deepEqual(fs.readdirSync(root).sort(), ['mine', 'recent']);
  });

  it('leaves the cache alone when under the cap', () => {
    corpus('a', 1, 100);
    corpus('b', 1, 200);
    const out = pruneCorpora(root, { keep: 'a', maxBytes: 5e6, now });
    assert.deepEqual(out.removed, []);
    assert.deepEqual(fs.readdirSync(root).sort(), ['a', 'b']);
  });

  it('a cap of 0 keeps only what is in use', () => {
    corpus('a', 1, 100);
    corpus('b', 1, 0.1);
    corpus('c', 1, 100);
    assert.deepEqual(pruneCorpora(root, { keep: 'c', maxBytes: 0, now }).removed, ['a']);
  });

  it("removes what a killed run left half-written, not a live run's", () => {
    corpus('a', 1, 1);
    fs.mkdirSync(path.join(root, 'x.partial-999999999'));
    fs.mkdirSync(path.join(root, `y.partial-${process.pid}`));
    const out = pruneCorpora(root, { keep: 'a', maxBytes: 1e12, now });
    assert.deepEqual(out.removed, ['x.partial-999999999']);
    assert.ok(fs.existsSync(path.join(root, `y.partial-${process.pid}`)));
  });

  it('reads its cap from CAPACITY_CORPUS_CACHE_GB, refusing nonsense with one line', () => {
    assert.equal(corpusCacheCap({}), 5e9);
    assert.equal(corpusCacheCap({ CAPACITY_CORPUS_CACHE_GB: '0.5' }), 5e8);
    assert.equal(corpusCacheCap({ CAPACITY_CORPUS_CACHE_GB: '0' }), 0);
    assert.throws(() => corpusCacheCap({ CAPACITY_CORPUS_CACHE_GB: 'lots' }), /CAPACITY_CORPUS_CACHE_GB must be a number/);
    assert.throws(() => corpusCacheCap({ CAPACITY_CORPUS_CACHE_GB: '-1' }), /CAPACITY_CORPUS_CACHE_GB/);
  });

  it('a missing cache is nothing to prune', () => {
    assert.deepEqual(pruneCorpora(path.join(root, 'none'), { keep: 'a', maxBytes: 0, now }), { removed: [], freedBytes: 0, bytes: 0 });
  });
});
