// A run's results directory: everything a report needs, written as the run goes, never half-written.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';
import { writeFileAtomic } from '../core/fs.ts';

export const RESULT_FILES = {
  manifest: 'manifest.json',
  k6Summary: 'k6-summary.json',
  k6Log: 'k6.log',
  /** one JSON line per request (runner/requestlog.ts): k6's console, written by the scenarios */
  requestLog: 'requests.ndjson',
  k6Progress: 'k6-progress.ndjson',
  timeseries: 'timeseries.csv',
  acks: 'acks.ndjson',
  liveness: 'liveness.ndjson',
  samples: 'samples.ndjson',
  summary: 'summary.json',
  summaryText: 'summary.txt',
} as const;

export function defaultResultsRoot(): string {
  return process.env.CAPACITY_RESULTS ?? path.join(repoRoot, 'results');
}

/** results/<UTC timestamp>-<scenario>[-n]: a new folder for every run. */
export function createResultsDir(root: string, scenario: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  fs.mkdirSync(root, { recursive: true });
  for (let n = 0; ; n++) {
    const dir = path.join(root, `${stamp}-${scenario}${n ? `-${n}` : ''}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export function writeJson(dir: string, name: string, value: unknown): void {
  writeFileAtomic(path.join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(dir: string, name: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}
