// The one reader of a results directory: manifest, summary, k6 summary, per-second time series, acknowledgements
// (counted, not kept), liveness and the collectors' samples (kept as compact series). Every file but the manifest's
// format is optional: what is missing is listed in `missing`, never an error, so a report can say what it could
// not show. Big files are streamed line by line.
import type { RunManifest } from './manifest.ts';
import type { LivenessRecord } from './records.ts';
import { checkFormat, RESULT_FILES, ResultsDir, type ResultFile } from './directory.ts';
import { SampleStore } from './sample-store.ts';
import type { K6SummaryExport, RunSummary } from './summary.ts';
import { parseTimeseriesCsv, type SecondRow } from './timeseries.ts';

export interface LoadedResults {
  dir: string;
  manifest?: RunManifest;
  summary?: RunSummary;
  k6?: K6SummaryExport;
  timeseries: SecondRow[];
  acks: { count: number; firstMs?: number; lastMs?: number; byForm: Record<string, number> };
  liveness: Array<Pick<LivenessRecord, 'ackedAt' | 'lagMs'>>;
  samples: SampleStore;
  /** Files that were not there (or not readable). */
  missing: string[];
  warnings: string[];
}

/** A JSON file of the directory, or a note in `missing` / `warnings`: never an error. */
function readJsonFile<T>(r: ResultsDir, file: ResultFile, missing: string[], warnings: string[]): T | undefined {
  if (!r.has(file)) {
    missing.push(RESULT_FILES[file]);
    return undefined;
  }
  try {
    return r.readJson<T>(file);
  } catch {
    warnings.push(`${RESULT_FILES[file]} is not valid JSON; left out`);
    return undefined;
  }
}

/** Loads a results directory. Only a directory that does not exist, holds none of the run files, or is of another format is an error. */
export async function loadResults(dir: string): Promise<LoadedResults> {
  const r = ResultsDir.open(dir);
  const missing: string[] = [];
  const warnings: string[] = [];
  const manifest = readJsonFile<RunManifest>(r, 'manifest', missing, warnings);
  if (manifest) checkFormat(manifest, r.path('manifest'));
  const summary = readJsonFile<RunSummary>(r, 'summary', missing, warnings);
  const k6 = readJsonFile<K6SummaryExport>(r, 'k6Summary', missing, warnings);

  const csv = r.readText('timeseries');
  const timeseries =
    csv === undefined ? [] : parseTimeseriesCsv(csv).filter((row) => row.endpoint !== 'none' || row.dropped > 0 || row.vus > 0);
  if (csv === undefined) missing.push(RESULT_FILES.timeseries);

  const acks: LoadedResults['acks'] = { count: 0, byForm: {} };
  if (r.has('acks')) {
    let bad = 0;
    for await (const line of r.lines('acks')) {
      // {"ack":"<id>","t":<ms>,"w":<worker>,"form":"<name>"}: fields read without a full parse (720k lines an hour)
      const t = /"t":(\d+)/.exec(line);
      const form = /"form":"([^"]*)"/.exec(line);
      if (!t) {
        bad++;
        continue;
      }
      const ms = Number(t[1]);
      acks.count++;
      if (acks.firstMs === undefined || ms < acks.firstMs) acks.firstMs = ms;
      if (acks.lastMs === undefined || ms > acks.lastMs) acks.lastMs = ms;
      const name = form?.[1] ?? 'unknown';
      acks.byForm[name] = (acks.byForm[name] ?? 0) + 1;
    }
    if (bad) warnings.push(`acks.ndjson: ${bad} lines without a time were skipped`);
  } else missing.push('acks.ndjson');

  const liveness: LoadedResults['liveness'] = [];
  if (r.has('liveness')) {
    for await (const line of r.lines('liveness')) {
      try {
        const l = JSON.parse(line) as { ackedAt?: number; lagMs?: number | null };
        if (typeof l.ackedAt === 'number')
          liveness.push(typeof l.lagMs === 'number' ? { ackedAt: l.ackedAt, lagMs: l.lagMs } : { ackedAt: l.ackedAt });
      } catch {
        // a torn last line
      }
    }
  } else missing.push('liveness.ndjson');

  const samples = new SampleStore();
  if (r.has('samples')) {
    for await (const line of r.lines('samples')) {
      try {
        samples.add(JSON.parse(line));
      } catch {
        samples.badLines++;
      }
    }
    if (samples.badLines) warnings.push(`samples.ndjson: ${samples.badLines} unreadable lines skipped`);
  } else missing.push('samples.ndjson');

  return { dir: r.dir, manifest, summary, k6, timeseries, acks, liveness, samples, missing, warnings };
}
