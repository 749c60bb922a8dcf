// The corpus cache (.capacity/corpora) is kept to a size: every `capacity run` picks a new seed, so each run leaves
// a corpus of its own (hundreds of MB for a long one) and nightly CI would fill the disk. After a run's corpus is
// ready, the least recently used others go until the cache is under its cap; a corpus used within the last hour is
// never removed (another run, a segment on the same machine, may be sending it), nor the run's own.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';

/** Marks a corpus used now (its last use decides what goes first). */
export const LAST_USED_FILE = 'last-used';
const DEFAULT_CAP_GB = 5;
const MIN_IDLE_MS = 60 * 60_000;

export interface PruneOptions {
  /** the corpus the run uses: never removed */
  keep: string;
  maxBytes?: number;
  /** corpora used more recently than this are never removed */
  minIdleMs?: number;
  now?: number;
}

export interface Pruned {
  removed: string[];
  freedBytes: number;
  /** what the cache holds afterwards */
  bytes: number;
}

/** The cap: CAPACITY_CORPUS_CACHE_GB (GB, 0 keeps only what is in use), else 5 GB. */
export function corpusCacheCap(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CAPACITY_CORPUS_CACHE_GB;
  if (raw === undefined || raw === '') return DEFAULT_CAP_GB * 1e9;
  const gb = Number(raw);
  if (!Number.isFinite(gb) || gb < 0) throw new UserError(`CAPACITY_CORPUS_CACHE_GB must be a number of GB (0 or more), not "${raw}"`);
  return gb * 1e9;
}

export function markUsed(dir: string, now = Date.now()): void {
  const file = path.join(dir, LAST_USED_FILE);
  fs.writeFileSync(file, '');
  fs.utimesSync(file, now / 1000, now / 1000);
}

function lastUsed(dir: string): number {
  for (const f of [LAST_USED_FILE, 'manifest.json']) {
    try {
      return fs.statSync(path.join(dir, f)).mtimeMs;
    } catch {
      // older corpora have no marker
    }
  }
  return fs.statSync(dir).mtimeMs;
}

function sizeOf(dir: string): number {
  let bytes = 0;
  for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, f.name);
    if (f.isDirectory()) bytes += sizeOf(p);
    else if (f.isFile()) bytes += fs.statSync(p).size;
  }
  return bytes;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes a folder as one step first (a rename), so no run finds it half-removed. */
function removeDir(dir: string): void {
  const gone = `${dir}.removing-${process.pid}`;
  fs.renameSync(dir, gone);
  fs.rmSync(gone, { recursive: true, force: true });
}

/**
 * Prunes `corporaDir` to its cap, least recently used first, and removes what killed runs left half-written
 * (`<key>.partial-<pid>` of a process that is gone).
 */
export function pruneCorpora(corporaDir: string, opts: PruneOptions): Pruned {
  const maxBytes = opts.maxBytes ?? corpusCacheCap();
  const minIdleMs = opts.minIdleMs ?? MIN_IDLE_MS;
  const now = opts.now ?? Date.now();
  const removed: string[] = [];
  let freedBytes = 0;
  let names: string[];
  try {
    names = fs.readdirSync(corporaDir);
  } catch {
    return { removed, freedBytes, bytes: 0 };
  }
  const corpora: { name: string; dir: string; used: number; bytes: number }[] = [];
  for (const name of names) {
    const dir = path.join(corporaDir, name);
    const leftover = /\.(?:partial|removing)-(\d+)$/.exec(name);
    // another run may be removing or renaming an entry meanwhile: what vanishes is skipped
    try {
      if (leftover) {
        if (!processAlive(Number(leftover[1]))) {
          const size = sizeOf(dir);
          fs.rmSync(dir, { recursive: true, force: true });
          freedBytes += size;
          removed.push(name);
        }
        continue;
      }
      if (!fs.statSync(dir).isDirectory()) continue;
      corpora.push({ name, dir, used: lastUsed(dir), bytes: sizeOf(dir) });
    } catch {
      continue;
    }
  }
  let bytes = corpora.reduce((s, c) => s + c.bytes, 0);
  for (const c of corpora.sort((a, b) => a.used - b.used)) {
    if (bytes <= maxBytes) break;
    if (c.name === opts.keep || now - c.used < minIdleMs) continue;
    try {
      removeDir(c.dir);
    } catch {
      continue; // removed by another run meanwhile
    }
    removed.push(c.name);
    freedBytes += c.bytes;
    bytes -= c.bytes;
  }
  return { removed, freedBytes, bytes };
}
