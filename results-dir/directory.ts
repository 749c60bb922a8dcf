// A run's results directory: the one contract between run, merge, gate, report, calibrate and audit. Every file
// is named here and read or written through ResultsDir; JSON is written atomically, never half.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/fs.ts';
import { repoRoot } from '../core/paths.ts';
import { RESULTS_FORMAT, type RunManifest } from './manifest.ts';
import type { K6SummaryExport, RunSummary } from './summary.ts';

export const RESULT_FILES = {
  manifest: 'manifest.json',
  k6Summary: 'k6-summary.json',
  k6Log: 'k6.log',
  /** one JSON line per request (results/request-log.ts): k6's console, written by the scenarios */
  requestLog: 'requests.ndjson',
  k6Progress: 'k6-progress.ndjson',
  timeseries: 'timeseries.csv',
  acks: 'acks.ndjson',
  liveness: 'liveness.ndjson',
  samples: 'samples.ndjson',
  summary: 'summary.json',
  summaryText: 'summary.txt',
} as const;

export type ResultFile = keyof typeof RESULT_FILES;

export function defaultResultsRoot(): string {
  return process.env.CAPACITY_RESULTS ?? path.join(repoRoot, 'results');
}

/** A manifest of another results format is refused in one line (an absent format is the first one). */
export function checkFormat(manifest: { format?: unknown }, file: string): void {
  const format = manifest.format ?? 1;
  if (format !== RESULTS_FORMAT) {
    throw new UserError(
      `${file}: results format ${JSON.stringify(format)} is not one this capacity reads (format ${RESULTS_FORMAT}); read it with the capacity that wrote it`,
    );
  }
}

export class ResultsDir {
  private constructor(readonly dir: string) {}

  /** results/<UTC timestamp>-<name>[-n]: a new folder for every run. */
  static create(root: string, name: string, now = new Date()): ResultsDir {
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    fs.mkdirSync(root, { recursive: true });
    for (let n = 0; ; n++) {
      const dir = path.join(root, `${stamp}-${name}${n ? `-${n}` : ''}`);
      try {
        fs.mkdirSync(dir);
        return new ResultsDir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  /** A directory to write into, made when missing (merge's output). */
  static at(dir: string): ResultsDir {
    fs.mkdirSync(dir, { recursive: true });
    return new ResultsDir(path.resolve(dir));
  }

  /** An existing results directory; one line when it is not there or holds none of a run's files. */
  static open(dir: string): ResultsDir {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new UserError(`${dir}: no such results directory`);
    }
    if (!st.isDirectory()) throw new UserError(`${dir}: not a directory (give the results directory of a run)`);
    const r = new ResultsDir(path.resolve(dir));
    const known: ResultFile[] = ['manifest', 'summary', 'k6Summary', 'timeseries', 'acks', 'liveness', 'samples'];
    if (!known.some((f) => r.has(f)))
      throw new UserError(`${dir}: not a results directory (none of ${known.map((f) => RESULT_FILES[f]).join(', ')})`);
    return r;
  }

  path(file: ResultFile): string {
    return path.join(this.dir, RESULT_FILES[file]);
  }

  has(file: ResultFile): boolean {
    try {
      return fs.statSync(this.path(file)).isFile();
    } catch {
      return false;
    }
  }

  writeJson(file: ResultFile, value: unknown): void {
    writeFileAtomic(this.path(file), `${JSON.stringify(value, null, 2)}\n`);
  }

  writeText(file: ResultFile, text: string): void {
    writeFileAtomic(this.path(file), text);
  }

  /** NDJSON lines written at once (merge's outputs). */
  writeNdjson(file: ResultFile, records: readonly unknown[]): void {
    this.writeText(file, records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
  }

  /** A JSON file's value; undefined when the file is missing; one line naming the file when it is not JSON. */
  readJson<T>(file: ResultFile): T | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.path(file), 'utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UserError(`${this.path(file)}: not valid JSON`);
    }
  }

  /** The manifest, its format checked. */
  manifest(): RunManifest | undefined {
    const m = this.readJson<RunManifest>('manifest');
    if (m) checkFormat(m, this.path('manifest'));
    return m;
  }

  summary(): RunSummary | undefined {
    return this.readJson<RunSummary>('summary');
  }

  k6Summary(): K6SummaryExport | undefined {
    return this.readJson<K6SummaryExport>('k6Summary');
  }

  readText(file: ResultFile): string | undefined {
    try {
      return fs.readFileSync(this.path(file), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Every parsable line of an NDJSON file (a line torn by a crash is skipped); none when the file is missing. */
  ndjson<T>(file: ResultFile): T[] {
    const out: T[] = [];
    for (const line of (this.readText(file) ?? '').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        // a line cut short by a crash is not a record
      }
    }
    return out;
  }

  /** The non-empty lines of a (possibly large) file, streamed. */
  async *lines(file: ResultFile): AsyncGenerator<string> {
    if (!this.has(file)) return;
    const rl = readline.createInterface({ input: fs.createReadStream(this.path(file), { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
    for await (const line of rl) if (line) yield line;
  }
}
