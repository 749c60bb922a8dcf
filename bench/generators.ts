// Generator benchmark: forms/s and MB/s on one core for each built-in app, reader throughput, and peak
// memory while writing a large corpus (default 1,000,000 forms).
//
//   node --import tsx bench/generators.ts [--count 1000000] [--seconds 3] [--users 1000] [--form-size 3]
//                                         [--app household] [--out DIR] [--keep] [--skip-corpus]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { utf8Length } from '../generators/encoding.ts';
import { BUILTIN_APPS } from '../generators/builtin.ts';
import { loadApp } from '../generators/node/apps.ts';
import { writeCorpus } from '../generators/node/corpus.ts';
import { Population } from '../generators/population.ts';
import { readSubmission } from '../generators/reader.ts';

function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const seconds = Number(flag('seconds', '3'));
const count = Number(flag('count', '1000000').replace(/_/g, ''));
const users = Number(flag('users', '1000'));
const formKB = Number(flag('form-size', '3'));
const corpusApp = flag('app', 'household');
const mb = (b: number) => (b / 1e6).toFixed(1);
const fmt = (n: number) => Math.round(n).toLocaleString('en');

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Rates per CPU-second of this process (so "per core", and meaningful on a busy machine where wall time is
 * shared with others; GC helper threads count too, which makes them conservative) and per wall second.
 */
function throughput(
  app: string,
  targetBytes: number,
): { formsPerSec: number; wallFormsPerSec: number; mbPerSec: number; avgBytes: number; readPerSec: number } {
  const pop = new Population(loadApp(app).app, { users: 200, seed: 1, targetFormBytes: targetBytes, duplicates: 0.01, edits: 0.01 });
  // warm up (faker pools, JIT)
  for (let w = 0; w < 5; w++) {
    const t = pop.timeline(w);
    for (let i = 0; i < 400; i++) t.next();
  }
  let n = 0,
    bytes = 0,
    w = 0;
  const sample: string[] = [];
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = t0;
  while (now < end) {
    const t = pop.timeline(w++ % pop.size);
    for (let i = 0; i < 500; i++) {
      const s = t.next();
      n++;
      bytes += utf8Length(s.xml);
      if (sample.length < 3000 && (n & 7) === 0) sample.push(s.xml);
    }
    now = performance.now();
  }
  const dt = (now - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  for (const x of sample.slice(0, 300)) readSubmission(x);
  let reads = 0;
  const rc0 = cpuSeconds();
  const r0 = performance.now();
  const rEnd = r0 + Math.min(seconds, 2) * 1000;
  let rNow = r0;
  while (rNow < rEnd) {
    for (const x of sample) readSubmission(x);
    reads += sample.length;
    rNow = performance.now();
  }
  return {
    formsPerSec: n / cpu,
    wallFormsPerSec: n / dt,
    mbPerSec: bytes / cpu / 1e6,
    avgBytes: bytes / n,
    readPerSec: reads / (cpuSeconds() - rc0),
  };
}

console.log(
  `generators benchmark — node ${process.version}, one thread, ${seconds} s per case; rates per CPU-second (wall rate in brackets)`,
);
console.log('');
console.log('app        form size     forms/s  (wall)        MB/s   avg form   read forms/s');
for (const app of BUILTIN_APPS) {
  for (const target of [0, Math.round(formKB * 1024)]) {
    const r = throughput(app, target);
    console.log(
      `${app.padEnd(10)} ${(target ? `~${formKB} KB pad` : 'natural').padEnd(12)} ${fmt(r.formsPerSec).padStart(8)} ${`(${fmt(r.wallFormsPerSec)})`.padStart(9)} ${r.mbPerSec.toFixed(1).padStart(8)} ` +
        `${(r.avgBytes / 1024).toFixed(2).padStart(7)} KB ${fmt(r.readPerSec).padStart(11)}`,
    );
  }
}

if (!has('skip-corpus')) {
  const out = flag('out', '') || mkdtempSync(path.join(tmpdir(), 'capacity-bench-corpus-'));
  console.log('');
  console.log(`corpus: ${fmt(count)} ${corpusApp} forms, ${fmt(users)} workers, ~${formKB} KB, raw XML -> ${out}`);
  const loaded = loadApp(corpusApp);
  let peak = 0;
  const marks: string[] = [];
  let nextMark = 0.1;
  const t0 = Date.now();
  const c0 = cpuSeconds();
  const manifest = await writeCorpus({
    app: loaded.app,
    appSource: loaded.source,
    count,
    out,
    force: true,
    population: { users, seed: 1, targetFormBytes: Math.round(formKB * 1024), duplicates: 0.01, edits: 0.01 },
    onProgress: (p) => {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      if (p.done / p.total >= nextMark) {
        marks.push(`${Math.round((100 * p.done) / p.total)}%: ${mb(rss)} MB (heap ${mb(process.memoryUsage().heapUsed)})`);
        nextMark += 0.1;
      }
    },
  });
  const secs = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(
    `wrote ${fmt(manifest.count)} forms in ${secs.toFixed(1)} s wall, ${cpu.toFixed(1)} CPU-s: ${fmt(manifest.count / cpu)} forms/CPU-s (${fmt(manifest.count / secs)}/s wall), ${mb(manifest.bytes.files / cpu)} MB/CPU-s to disk, ` +
      `${mb(manifest.bytes.files)} MB in ${manifest.files.length} files, avg form ${(manifest.bytes.xml / manifest.count / 1024).toFixed(2)} KB`,
  );
  console.log(`RSS while writing: ${marks.join(', ')}`);
  console.log(
    `peak RSS while writing the corpus (sampled): ${mb(peak)} MB; process max RSS (includes the throughput runs above): ${mb(maxRss)} MB`,
  );
  if (!has('keep') && !flag('out', '')) rmSync(out, { recursive: true, force: true });
}
