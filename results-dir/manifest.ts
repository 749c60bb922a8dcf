// manifest.json: what a run was asked to do and with what (written first, updated as the run goes).
import type { ScenarioName, ShapeParams } from '../scenarios/lib/shapes.ts';
import type { VmRow } from '../topology/model.ts';

/** The results format this version writes and reads; a directory of another format is refused. */
export const RESULTS_FORMAT = 1;

export interface Segment {
  /** 1-based. */
  index: number;
  count: number;
}

export interface SegmentInfo extends Segment {
  executionSegment: string;
  executionSegmentSequence: string;
}

export type TargetKind = 'local' | 'containers' | 'url';

export interface MergedSegment extends SegmentInfo {
  dir: string;
  startedAt: string;
  endedAt?: string;
  outcome: string;
  requests: number;
  acknowledged: number;
}

export interface RunManifest {
  /** RESULTS_FORMAT when written; absent in directories written before the format carried a version (read as 1). */
  format?: number;
  tool: { name: string; version: string; node: string };
  scenario: ScenarioName;
  status: 'running' | 'finished' | 'failed';
  startedAt: string;
  endedAt?: string;
  parameters: {
    shape: ShapeParams;
    users: number;
    app: string;
    seed: number;
    domain: string;
    plannedSeconds: number;
    plannedSubmissions: number;
    livenessEvery: number;
    collectIntervalMs: number | null;
  };
  target: { kind: TargetKind; baseUrl: string; domain: string };
  segment?: SegmentInfo;
  /** VUs of this load generator, each owning mobile workers (derived: a segment has its share). */
  vuPool?: number;
  /** k6's release; k6Extensions: the JavaScript modules its build adds (k6/x/capacity: the native submission path) */
  versions: { k6?: string; k6Extensions?: string[]; stack?: Record<string, string> };
  /** the script k6 ran: the scenario file, or scenarios/native-run.ts on capacity's k6 build */
  script?: string;
  corpus?: { key: string; dir: string; forms: number; reused: boolean };
  topology?: { file: string; rows: VmRow[] };
  files: Record<string, string>;
  /** set by `capacity merge` on the directory it writes */
  merged?: { at: string; segments: MergedSegment[]; samplesFrom: Record<string, number>; warnings: string[] };
  error?: string;
}
