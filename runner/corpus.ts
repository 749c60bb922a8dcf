// The corpus a run sends: generated once per (app, users, count, seed, domain, identities) into .capacity/corpora and
// reused when the same parameters come again. The k6 bundle of the generators is rebuilt when stale.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadApp } from '../generators/node/apps.ts';
import { writeCorpus, type CorpusManifest } from '../generators/node/corpus.ts';
import type { WorkerIdentity } from '../generators/population.ts';
import { buildK6Bundle } from '../generators/node/k6-bundle.ts';
import { repoRoot } from '../core/paths.ts';
import { PACK_FORMAT, RAW_XML_CONTENT_TYPE, type PackLayout, type WorkerPackIndex } from '../scenarios/lib/bodies.ts';
import { corpusCacheCap, markUsed, pruneCorpora } from './corpus-cache.ts';

export interface CorpusSpec {
  app: string;
  users: number;
  count: number;
  seed: number;
  domain: string;
  /** a real HQ's workers the corpus is generated for (part of the key: other workers, another corpus) */
  identities?: WorkerIdentity[];
}

export interface PreparedCorpus {
  dir: string;
  key: string;
  reused: boolean;
  manifest: CorpusManifest;
}

export function corpusKey(spec: CorpusSpec, appText: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...spec, appText, format: 1 }))
    .digest('hex')
    .slice(0, 16);
}

/** The layout of a corpus's body packs when they are of the current format. */
function packedLayout(dir: string): PackLayout | undefined {
  try {
    const layout = JSON.parse(fs.readFileSync(path.join(dir, 'bodies', 'layout.json'), 'utf8')) as PackLayout;
    return layout.format === PACK_FORMAT ? layout : undefined;
  } catch {
    return undefined;
  }
}

/**
 * k6 reads bodies from one binary file per worker, bodies/w<i>.bin, with bodies/w<i>.json giving each body's
 * length, form and Content-Type in timeline order. A VU loads only the workers it owns (scenarios/lib/ownership.ts),
 * so a submission is a body already in memory.
 */
export function writeBodyPacks(dir: string): void {
  if (packedLayout(dir)) return;
  fs.rmSync(path.join(dir, 'bodies'), { recursive: true, force: true });
  const users = JSON.parse(fs.readFileSync(path.join(dir, 'users.json'), 'utf8')) as { file: string }[];
  const tmp = path.join(dir, `bodies.partial-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const forms: string[] = [];
  users.forEach((u, i) => {
    const bin = fs.openSync(path.join(tmp, `w${i}.bin`), 'w');
    const index: WorkerPackIndex = { lengths: [], forms: [], types: [] };
    for (const line of fs.readFileSync(path.join(dir, u.file), 'utf8').split('\n')) {
      if (!line) continue;
      const rec = JSON.parse(line) as { body64?: string; xml?: string; contentType?: string; form: string };
      const body = rec.body64 !== undefined ? Buffer.from(rec.body64, 'base64') : Buffer.from(rec.xml ?? '', 'utf8');
      fs.writeSync(bin, body);
      let f = forms.indexOf(rec.form);
      if (f < 0) f = forms.push(rec.form) - 1;
      index.lengths.push(body.length);
      index.forms.push(f);
      index.types.push(rec.contentType ?? RAW_XML_CONTENT_TYPE);
    }
    fs.closeSync(bin);
    fs.writeFileSync(path.join(tmp, `w${i}.json`), JSON.stringify(index));
  });
  const layout: PackLayout = { format: PACK_FORMAT, forms };
  fs.writeFileSync(path.join(tmp, 'layout.json'), JSON.stringify(layout));
  try {
    fs.renameSync(tmp, path.join(dir, 'bodies'));
  } catch (err) {
    // another run packed the same corpus at the same time: keep theirs
    if (!packedLayout(dir)) throw err;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The corpus for `spec`, reused or generated, marked used now; then the cache is pruned to its cap
 * (runner/corpus-cache.ts), this corpus kept.
 */
export async function prepareCorpus(home: string, spec: CorpusSpec, progress: (msg: string) => void): Promise<PreparedCorpus> {
  const cap = corpusCacheCap(); // a bad CAPACITY_CORPUS_CACHE_GB is refused before any work
  const prepared = await reuseOrGenerate(home, spec, progress);
  markUsed(prepared.dir);
  const pruned = pruneCorpora(path.join(home, 'corpora'), { keep: prepared.key, maxBytes: cap });
  if (pruned.removed.length) {
    progress(
      `corpus cache: removed the ${pruned.removed.length} least recently used corpora (${(pruned.freedBytes / 1e9).toFixed(1)} GB); ` +
        `${(pruned.bytes / 1e9).toFixed(1)} GB kept, cap ${(cap / 1e9).toFixed(1)} GB (CAPACITY_CORPUS_CACHE_GB)`,
    );
  }
  return prepared;
}

async function reuseOrGenerate(home: string, spec: CorpusSpec, progress: (msg: string) => void): Promise<PreparedCorpus> {
  const loaded = loadApp(spec.app);
  const key = corpusKey(spec, JSON.stringify(loaded.app));
  const dir = path.join(home, 'corpora', key);
  const manifestFile = path.join(dir, 'manifest.json');
  if (fs.existsSync(manifestFile)) {
    writeBodyPacks(dir);
    return { dir, key, reused: true, manifest: JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as CorpusManifest };
  }
  const tmp = `${dir}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const t0 = Date.now();
  let lastReport = 0;
  const manifest = await writeCorpus({
    app: loaded.app,
    appSource: loaded.source,
    population: { seed: spec.seed, domain: spec.domain, users: spec.users, identities: spec.identities },
    count: spec.count,
    out: tmp,
    multipart: true,
    onProgress: (p) => {
      if (Date.now() - lastReport > 2000) {
        lastReport = Date.now();
        progress(`generating corpus: ${p.done}/${p.total} forms`);
      }
    },
  });
  writeBodyPacks(tmp);
  // A corpus is complete or absent, never half-written. Two runs may generate the same corpus at once (segments on
  // one machine): the first rename wins and the other run uses it.
  if (fs.existsSync(dir) && !fs.existsSync(manifestFile)) fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    if (!fs.existsSync(manifestFile)) throw err;
    fs.rmSync(tmp, { recursive: true, force: true });
    return { dir, key, reused: true, manifest: JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as CorpusManifest };
  }
  progress(`generated ${manifest.count} forms for ${spec.users} workers in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, key, reused: false, manifest };
}

export const bundleFile = path.join(repoRoot, 'scenarios', 'lib', 'generated', 'requests.k6.js');
const bundleEntry = path.join(repoRoot, 'scenarios', 'lib', 'k6-deps.ts');

/** Rebuilds the scenarios' k6 bundle of generator code when any generator source is newer than it. */
export async function ensureK6Bundle(): Promise<string> {
  let newest = fs.statSync(bundleEntry).mtimeMs;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(path.join(repoRoot, 'generators'));
  const built = fs.existsSync(bundleFile) ? fs.statSync(bundleFile).mtimeMs : 0;
  if (built < newest) {
    await buildK6Bundle({ entry: bundleEntry, outFile: bundleFile });
  }
  return bundleFile;
}

/** Bytes of request bodies in a prepared corpus (its body packs). */
export function bodyBytes(dir: string): number {
  let total = 0;
  for (const f of fs.readdirSync(path.join(dir, 'bodies'))) if (f.endsWith('.bin')) total += fs.statSync(path.join(dir, 'bodies', f)).size;
  return total;
}

/**
 * About what k6 needs in memory for a corpus: the copy of every file it opened, each VU's copy of its own workers'
 * bodies, and Go's collector letting the heap reach twice what is live (measured 4.3x: 1.4 GB for 327 MB).
 */
export function k6MemoryEstimate(bodies: number): number {
  return 4 * bodies + 256 * 1024 * 1024;
}

/** MemAvailable from /proc/meminfo, or undefined where there is none. */
export function memAvailable(): number | undefined {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
