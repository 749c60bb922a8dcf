// The request log the scenarios write to k6's console (scenarios/lib/actions.ts; the runner gives k6
// --console-output): one JSON line per request. It is the run's raw record: the per-second time series, exact
// percentiles, the acks and the liveness sample are all read from it. Any other line is skipped.
import fs from 'node:fs';
import { createInterface } from 'node:readline';

export interface RequestLine {
  /**
   * endpoint: receiver, restore or search; exports: export (asked for), export_poll (the export page's poll),
   * export_download (the file); the data API: api_form, api_case (one page of the list)
   */
  e: string;
  /** when the answer came (ms since the epoch) */
  t: number;
  /** k6's http_req_duration (ms) */
  d: number;
  /** HTTP status (0: no answer) */
  s: number;
  /** 1 when the check that reads the answer passed (a submission: 201 submit_success) */
  ok: number;
  /** the mobile worker (index in the corpus) */
  w?: number;
  form?: string;
  /** HQ's form id of an acknowledged submission */
  ack?: string;
  /** 1: the liveness follower polls this form */
  f?: number;
  /** restores: first or incremental; exports: case or form */
  kind?: string;
  /** data API pages: the objects the page held */
  n?: number;
}

export function requestOf(line: string): RequestLine | undefined {
  if (!line.startsWith('{"e":')) return undefined;
  try {
    const r = JSON.parse(line) as RequestLine;
    return typeof r.e === 'string' && typeof r.t === 'number' && typeof r.d === 'number' ? r : undefined;
  } catch {
    return undefined; // a line cut short by a killed k6
  }
}

/** Every request line of a request log, in file order. */
export async function* readRequestLog(file: string): AsyncGenerator<RequestLine> {
  if (!fs.existsSync(file)) return;
  const lines = createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const r = requestOf(line);
    if (r) yield r;
  }
}

/** A request's value of a k6 tag, as k6 would have tagged its samples (for sub-metrics such as {endpoint:restore}). */
export function tagOf(r: RequestLine, tag: string): string | undefined {
  switch (tag) {
    case 'endpoint':
      return r.e;
    case 'form':
      return r.form;
    case 'restore_kind':
      return r.kind;
    case 'status':
      return String(r.s);
    case 'expected_response':
      return String(r.s >= 200 && r.s < 400);
    default:
      return undefined;
  }
}

/** The submissions a run sent that the service did not acknowledge, by what it answered (from its request log). */
export interface RefusedSubmissions {
  sent: number;
  refused: number;
  /** "500", "422", "201 submit_error" (HQ's 201 with an error in the body), "0" (no answer) */
  byStatus: Record<string, number>;
}

/** Counts the receiver's refusals in a request log: what an audit of the stored forms alone cannot see. */
export async function refusedSubmissions(file: string): Promise<RefusedSubmissions> {
  const out: RefusedSubmissions = { sent: 0, refused: 0, byStatus: {} };
  for await (const r of readRequestLog(file)) {
    if (r.e !== 'receiver') continue;
    out.sent++;
    if (r.ok === 1) continue;
    out.refused++;
    const key = r.s === 201 ? '201 submit_error' : String(r.s);
    out.byStatus[key] = (out.byStatus[key] ?? 0) + 1;
  }
  return out;
}
