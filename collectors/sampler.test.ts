import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startSampler } from './sampler.ts';
import { sample, type Collector, type Sample } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sampler-')), 'out', 'samples.ndjson');
const readLines = (f: string): Sample[] =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sample);

function counter(name: string): Collector & { calls: number; closed: boolean } {
  const c = {
    name,
    source: 'test',
    host: 'h1',
    calls: 0,
    closed: false,
    async sample(now: Date) {
      c.calls++;
      return [sample(now, 'test', 'h1', 'calls', c.calls, { collector: name })];
    },
    async close() {
      c.closed = true;
    },
  };
  return c;
}

describe('sampler', () => {
  it('samples at once and every interval, appending NDJSON that is readable while the run goes', async () => {
    const out = tmpFile();
    const a = counter('a');
    const run = startSampler([a], { intervalMs: 150, outFile: out });
    await sleep(400);
    const mid = readLines(out); // the run is still going: what is there is complete lines
    assert.ok(mid.filter((s) => s.metric === 'calls').length >= 2, `readings so far: ${mid.length}`);
    await run.stop();
    const all = readLines(out);
    const calls = all.filter((s) => s.metric === 'calls');
    assert.equal(calls.length, a.calls);
    assert.ok(a.calls >= 3 && a.calls <= 4, `calls ${a.calls}`);
    assert.ok(all.some((s) => s.source === 'sampler' && s.metric === 'sample_ms' && s.labels.collector === 'a'));
    assert.ok(a.closed);
    // ticks are a schedule, not a chain: timestamps ~150 ms apart
    const ts = calls.map((s) => Date.parse(s.ts));
    for (let i = 1; i < ts.length; i++) assert.ok(Math.abs(ts[i]! - ts[i - 1]! - 150) < 60, `gap ${ts[i]! - ts[i - 1]!}`);
  });

  it('a source that fails writes a gap with its error, not zeros, and the others carry on', async () => {
    const out = tmpFile();
    const good = counter('good');
    const bad: Collector = {
      name: 'bad@db1',
      source: 'postgres',
      host: 'db1',
      async sample() {
        const err = new Error('connect ECONNREFUSED 127.0.0.1:1') as NodeJS.ErrnoException;
        err.code = 'ECONNREFUSED';
        throw err;
      },
    };
    const run = startSampler([good, bad], { intervalMs: 100, outFile: out });
    await sleep(250);
    await run.stop();
    const all = readLines(out);
    const gaps = all.filter((s) => s.gap);
    assert.ok(gaps.length >= 2);
    for (const g of gaps) {
      assert.equal(g.metric, 'gap');
      assert.equal(g.source, 'postgres');
      assert.equal(g.host, 'db1');
      assert.equal(g.labels.collector, 'bad@db1');
      assert.match(g.error!, /ECONNREFUSED/);
    }
    assert.equal(all.filter((s) => s.source === 'postgres' && !s.gap).length, 0, 'nothing but gaps from the failed source');
    assert.equal(all.filter((s) => s.metric === 'calls').length, good.calls);
    assert.equal(run.stats.failedReadings, gaps.length);
  });

  it('a source that hangs becomes a gap after the timeout and is skipped while busy; the others keep their schedule', async () => {
    const out = tmpFile();
    const good = counter('good');
    let started = 0;
    const hang: Collector = {
      name: 'hang',
      source: 'es',
      host: 'es1',
      sample() {
        started++;
        return new Promise(() => undefined);
      },
    };
    const ticks: string[][] = [];
    const run = startSampler([good, hang], { intervalMs: 100, timeoutMs: 250, outFile: out, onTick: (t) => ticks.push(t.skipped) });
    await sleep(560);
    await run.stop();
    const all = readLines(out);
    const gaps = all.filter((s) => s.gap);
    assert.ok(gaps.length >= 1);
    assert.match(gaps[0]!.error!, /no answer after 250 ms/);
    assert.ok(started <= 3, `hung collector started ${started} times`);
    assert.ok(
      ticks.some((s) => s.includes('hang')),
      'skipped while busy',
    );
    assert.ok(good.calls >= 5, `good collector ran ${good.calls} times`);
  });

  it('refuses two collectors with one name and intervals under 100 ms', () => {
    assert.throws(() => startSampler([counter('x'), counter('x')]), /two collectors are named x/);
    assert.throws(() => startSampler([counter('x')], { intervalMs: 10 }), /at least 100 ms/);
  });
});
