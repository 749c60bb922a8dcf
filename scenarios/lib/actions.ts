/// <reference types="k6" />
// What a VU does: submit the next corpus form of a worker, restore (first then incremental), search cases.
// Every request is tagged by endpoint (and form), checks read the body, not only the status, and every request
// leaves a line in the request log (scenarios/lib/requestlog.ts).
import { check, sleep } from 'k6';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import http, { type Params } from 'k6/http';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';
import type { Sender } from 'k6/x/capacity';
import { RestoreSession } from './generated/requests.k6.js';
import type { PackLayout, WorkerPackIndex } from './bodies.ts';
import { ownedWorkers, segmentIndex, segmentWorkers, type Ownership } from './ownership.ts';
import { runEnv } from './params.ts';
import { native } from './native-hook.ts';
import { resolveShape, scenarioSpans, submitEndpointFromScenario } from './shapes.ts';
import type { MobileWorker } from '../../generators/render.ts';

const env = runEnv();
const target = { baseUrl: env.baseUrl, domain: env.domain, appId: env.appId };

/** One row of the corpus's users.json: a generated mobile worker, its forms file and form count. */
interface CorpusUser extends Omit<MobileWorker, 'home'> {
  file: string;
  forms: number;
}

// `k6 inspect` plans the VU pool before the corpus exists (ownership pool 0): it opens nothing.
const planning = !env.ownership?.pool;
const users = planning
  ? ([] as CorpusUser[])
  : new SharedArray('users', () => JSON.parse(open(env.usersFile ?? `${env.corpusDir}/users.json`)) as CorpusUser[]);
const ownership: Ownership = { users: users.length, segments: env.ownership?.segments ?? 1, pool: env.ownership?.pool ?? 0 };
const formNames = planning ? [] : (JSON.parse(open(`${env.corpusDir}/bodies/layout.json`)) as PackLayout).forms;

const authHeaders = new Map<string, string>();
const shape = resolveShape(env.scenario, env.shape);
// the endpoint tag of a submission: from its k6 scenario where that only submits, else with the request
const endpointFromScenario = submitEndpointFromScenario(env.scenario, shape);
const submitTags = (form: string): Record<string, string> => (endpointFromScenario ? { form } : { endpoint: 'receiver', form });

/** Basic auth per worker, encoded once per VU. */
function basic(u: CorpusUser): string {
  let h = authHeaders.get(u.login);
  if (!h) {
    h = `Basic ${encoding.b64encode(`${u.login}:${u.password}`)}`;
    authHeaders.set(u.login, h);
  }
  return h;
}

/**
 * A worker this VU sends for: its bodies in timeline order, and beside each body its form's name and the request
 * parameters it is posted with (built once: objects shared by every body of a form and type). On stock k6 the bodies
 * are in the VU's memory, one buffer each. On capacity's build (k6/x/capacity) only the worker and its pack are
 * here: the extension reads the pack's index and maps the pack once per k6 process, so no VU holds a copy (k6's
 * memory is then about one corpus).
 */
interface OwnedWorker {
  w: number;
  /** the JavaScript path's bodies; none on capacity's build */
  bodies: ArrayBuffer[] | undefined;
  pack: string;
  offsets: number[];
  lengths: number[];
  forms: string[];
  /** each body's request parameters */
  params: Params[];
  /** each body's Content-Type (a multipart body's names its own boundary) */
  types: string[];
}

const packFile = (w: number) => `${env.corpusDir}/bodies/w${w}.bin`;

const indexFile = (w: number) => `${env.corpusDir}/bodies/w${w}.json`;

function loadWorker(w: number): OwnedWorker {
  // native.capacity (set before this module runs: scenarios/lib/native.ts is imported first) reads the worker's
  // pack and index itself, in Go
  if (native.capacity) return { w, bodies: undefined, pack: packFile(w), offsets: [], lengths: [], forms: [], params: [], types: [] };
  const pack = open(packFile(w), 'b');
  const index = JSON.parse(open(indexFile(w))) as WorkerPackIndex;
  const auth = basic(users[w] as CorpusUser);
  const shared = new Map<string, Params>();
  // sliced once here: a request then posts a buffer as it is, with no copy
  const bodies: ArrayBuffer[] = [];
  const offsets: number[] = [];
  const forms: string[] = [];
  const params: Params[] = [];
  let at = 0;
  index.lengths.forEach((len, j) => {
    bodies.push(pack.slice(at, at + len));
    offsets.push(at);
    at += len;
    const form = formNames[index.forms[j]!]!;
    // every multipart body has its own boundary, so parameters with the Content-Type are one object per body
    const type = index.types[j]!;
    let p = shared.get(`${form} ${type}`);
    if (!p) {
      p = { headers: { Authorization: auth, 'Content-Type': type, 'X-OpenRosa-Version': '3.0' }, tags: submitTags(form) };
      shared.set(`${form} ${type}`, p);
    }
    forms.push(form);
    params.push(p);
  });
  return { w, bodies, pack: packFile(w), offsets, lengths: index.lengths, forms, params, types: index.types };
}

// k6 lets a VU open only files that the first init pass (__VU 0) opened: that pass opens every pack this
// generator may send (on capacity's build, only their indexes: k6/x/capacity reads the packs itself, and a file k6
// opened stays in its memory for the whole run). A VU then loads the workers it owns in each segment it may turn out to be (the runner names
// the segment; a k6-operator pod learns it at run time).
const ownedBySegment = new Map<number, OwnedWorker[]>();
if (!planning) {
  const segments = env.ownership?.segment !== undefined ? [env.ownership.segment] : Array.from({ length: ownership.segments }, (_, s) => s);
  for (const s of segments) {
    if (__VU === 0) {
      for (const w of segmentWorkers(ownership, s)) {
        if (native.capacity) continue; // k6/x/capacity reads the packs and indexes itself
        open(packFile(w), 'b');
        open(indexFile(w));
      }
    } else {
      ownedBySegment.set(s, ownedWorkers(ownership, s, __VU).map(loadWorker));
    }
  }
}

let own: OwnedWorker[] | undefined;
function myWorkers(): OwnedWorker[] {
  own ??=
    ownedBySegment.get(
      env.ownership?.segment ?? segmentIndex(exec.test.options.executionSegment as unknown as string | undefined, ownership.segments),
    ) ?? [];
  return own;
}

const corpusExhausted = new Counter('corpus_exhausted');
// Submissions whose answer was not HQ's success. Only failures are counted: a sample on every request would cost k6
// ~3 % of the harness's rate, and the request log has every submission's outcome (the runner's acceptance threshold).
const rejected = new Counter('submit_rejected');
// looked up once: a property read on a Go-backed object (a k6 module, a metric) is a reflection lookup every time
const post = http.post;
const get = http.get;

const receiverUrl = `${target.baseUrl}/a/${target.domain}/receiver/${target.appId ? `${target.appId}/` : ''}`;
const followEvery = env.followEvery ?? 0;
const { restoreRatio, searchRatio } = shape;

// The request log: one JSON line per request (endpoint, end time, duration, status, outcome; for a submission the
// worker, the form and HQ's form id), written to k6's console, which the runner points at a file of its own
// (--console-output: written at once, where k6's --log-output holds lines in a buffer until 4 KB have come).
// runner/requestlog.ts reads it into the acks, the liveness sample and the per-second time series. It replaces
// k6's CSV output, which formatted a dozen samples per request and was the harness's largest cost.
//
// A console.log call costs k6 about as much as a third of a bare post, so a busy VU batches its lines into one
// call. A line never waits long: the batch goes out when it holds LOG_BATCH lines or its first line is
// LOG_BATCH_MS old (checked at the VU's next request), at once when the VU is not busy (its previous request ended
// more than LOG_BUSY_MS before: it may not get another one soon), and in the last seconds of the test's k6
// scenarios. Lines still batched when k6 is stopped early (Ctrl-C, a threshold's abort) are lost; the runner
// compares what it read with k6's own count and says so.
//
// The batch is an array joined once: appending to one string copies it every time. The submission path writes
// its line inline (a JS call per request is a measured cost on stock k6); the other requests call logLine. Run by
// capacity's k6 build (scenarios/native-run.ts), the batch and its clock are kept by k6/x/capacity (k6x/submit), which
// also writes the submissions' lines and says when the batch is due.
const LOG_BATCH = 64;
const LOG_BATCH_MS = 200;
const LOG_BUSY_MS = 50;
const LOG_TAIL_MS = 2000;

const logBatch: string[] = [];
const nativeLog = native.capacity;
let logLines = 0;
let logFirstAt = 0;
let logLastAt = 0;
/** From this time (ms) on every line goes out at once: the earliest end of the test's k6 scenarios, less LOG_TAIL_MS. */
let logTailFrom = -1;

/** When the first of the test's k6 scenarios ends (less LOG_TAIL_MS), learnt from the scenario this VU runs first. */
function tailFrom(): number {
  const spans = scenarioSpans(env.scenario, shape);
  const span = spans[exec.scenario.name];
  if (!span) return Infinity; // not one of the shape's scenarios (the harness benchmark): flushed by its caller
  const testStart = exec.scenario.startTime - span.startS * 1000;
  return testStart + Math.min(...Object.values(spans).map((sp) => sp.endS)) * 1000 - LOG_TAIL_MS;
}

/** Writes whatever this VU's request log holds. */
export function flushRequestLog(): void {
  // console.log looked up at each call: k6 swaps the console for --console-output's after the init code ran
  if (nativeLog) {
    const lines = nativeLog.take();
    if (lines) console.log(lines);
    return;
  }
  if (logLines === 0) return;
  logBatch.length = logLines;
  console.log(logBatch.join('\n'));
  logLines = 0;
}

/** On capacity's build the batch and its clock are in k6/x/capacity: given the same rules, at the VU's first line. */
let nativeRules = false;
function nativeBatching(): void {
  nativeRules = true;
  nativeLog!.batching({ lines: LOG_BATCH, ms: LOG_BATCH_MS, busyMs: LOG_BUSY_MS, tailFrom: tailFrom() });
}

/** A line joined the batch at time `now` (ms): writes the batch when it is due; `urgent`: at once. */
function lineAdded(now: number, urgent: boolean): void {
  if (logTailFrom < 0) logTailFrom = tailFrom();
  const idle = now - logLastAt > LOG_BUSY_MS;
  logLastAt = now;
  if (logLines++ === 0) logFirstAt = now;
  if (urgent || idle || now >= logTailFrom || logLines >= LOG_BATCH || now - logFirstAt >= LOG_BATCH_MS) flushRequestLog();
}

/** One request's line at time `now` (ms); `urgent`: write it at once. */
function logLine(line: string, now: number, urgent: boolean): void {
  if (nativeLog) {
    if (!nativeRules) nativeBatching();
    if (nativeLog.add(line, urgent)) flushRequestLog();
    return;
  }
  logBatch[logLines] = line;
  lineAdded(now, urgent);
}

let submitted = 0;
let acked = 0;

// This VU's submissions in the order it sends them, built at its first: its workers in turn, each worker's forms in
// timeline order. Flat arrays, so a request costs one index (k6 runs this code in an interpreter, where every
// division, lookup and call shows in the harness's own cost).
/** how many submissions this VU has; -1 until its send order is built */
let sendCount = -1;
let sendBodies: ArrayBuffer[] = [];
let sendParams: Params[] = [];
/** `"w":<worker>,"form":"<name>"` of each submission, for its request line */
let sendWorkerForm: string[] = [];
/** in capacity's k6 build: k6/x/capacity posts, checks and logs this VU's submissions (see submit) */
let sender: Sender | undefined;

/** Builds the send order (or the native sender), then sets them all at once: a failure leaves nothing half-set. */
function sendOrder(): number {
  const mine = own ?? myWorkers();
  if (native.capacity) {
    // k6/x/capacity reads each worker's index and builds the same order in Go (k6x/submit/submit.go)
    sender = native.capacity.sender({
      url: receiverUrl,
      followEvery,
      workers: mine.map((o) => ({
        w: o.w,
        pack: o.pack,
        index: indexFile(o.w),
        headers: { Authorization: basic(users[o.w] as CorpusUser), 'X-OpenRosa-Version': '3.0' },
      })),
      forms: formNames,
      tags: submitTags(''),
    });
    sendCount = sender.count;
    if (!nativeRules) nativeBatching();
    return sendCount;
  }
  const bodies: ArrayBuffer[] = [];
  const params: Params[] = [];
  const workerForm: string[] = [];
  const longest = Math.max(0, ...mine.map((o) => o.offsets.length));
  for (let j = 0; j < longest; j++) {
    for (const o of mine) {
      if (j >= o.offsets.length) continue;
      bodies.push(o.bodies![j]!);
      params.push(o.params[j]!);
      workerForm.push(`"w":${o.w},"form":"${o.forms[j]!}"`);
    }
  }
  sendParams = params;
  sendWorkerForm = workerForm;
  sendBodies = bodies;
  sendCount = params.length;
  return sendCount;
}

/**
 * The next form of one of this VU's workers, in turn: each worker's forms go strictly in timeline order, one at a
 * time (scenarios/lib/ownership.ts says which VU owns which worker).
 */
export function submit(): void {
  const k = submitted++;
  if (k >= (sendCount < 0 ? sendOrder() : sendCount)) {
    corpusExhausted.add(1);
    return;
  }
  if (sender) {
    // k6/x/capacity: the same request, check and request line as below, in Go (the line joins nativeLog's batch,
    // which says when it is due)
    const r = sender.post(k);
    if ((r & 1) === 0) rejected.add(1);
    if (r & 2) flushRequestLog();
    return;
  }
  // response bodies are kept as text (the options' default): the check reads them
  const res = post(receiverUrl, sendBodies[k]!, sendParams[k]);
  // The check that reads the body (k6's check() costs a tagged sample per call, a fifth of a bare post): a 201 whose
  // message is submit_success (HQ's 201 submit_error is a failure). Its outcome goes into the request line.
  const status = res.status;
  const body = res.body;
  const ok = status === 201 && typeof body === 'string' && body.includes('nature="submit_success"');
  if (!ok) rejected.add(1);
  const now = Date.now();
  // logLine, inline (see the request log above); form ids are hex and form names are ids: nothing to escape
  // a followed form waits in the batch like the others (at most LOG_BATCH_MS): its line carries its ack time
  const follow = ok && followEvery > 0 && acked++ % followEvery === 0;
  const line = ok
    ? `{"e":"receiver","t":${now},"d":${res.timings.duration},"s":201,"ok":1,${sendWorkerForm[k]},"ack":"${res.headers['X-Commcarehq-Formid'] ?? ''}"${follow ? ',"f":1' : ''}}`
    : `{"e":"receiver","t":${now},"d":${res.timings.duration},"s":${status},"ok":0,${sendWorkerForm[k]}}`;
  if (logTailFrom < 0) logTailFrom = tailFrom();
  const idle = now - logLastAt > LOG_BUSY_MS;
  logLastAt = now;
  if (logLines === 0) logFirstAt = now;
  logBatch[logLines++] = line;
  if (idle || now >= logTailFrom || logLines >= LOG_BATCH || now - logFirstAt >= LOG_BATCH_MS) flushRequestLog();
}

const sessions = new Map<number, RestoreSession>();

function restoreOnce(w: number, kind: 'first' | 'incremental'): boolean {
  const u = users[w] as CorpusUser;
  let s = sessions.get(w);
  if (!s) {
    s = new RestoreSession({ login: u.login, password: u.password, deviceId: u.deviceId }, target, {});
    sessions.set(w, s);
  }
  if (kind === 'first') s.token = undefined;
  const req = s.next();
  const sent = s.token ? 'incremental' : 'first';
  const res = get(req.url, { headers: req.headers, tags: { endpoint: 'restore', restore_kind: sent }, responseType: 'text' });
  const parsed = s.handle(res.status, typeof res.body === 'string' ? res.body : '', res.headers);
  const ok = check(res, {
    'restore: 200': (r) => r.status === 200,
    'restore: restore_id': () => parsed.kind === 'success' && !!parsed.restoreId,
  });
  const now = Date.now();
  logLine(
    `{"e":"restore","t":${now},"d":${res.timings.duration},"s":${res.status},"ok":${ok ? 1 : 0},"w":${w},"kind":"${sent}"}`,
    now,
    false,
  );
  return ok;
}

let restored = 0;

/** One of this VU's workers syncs, in turn, as its phone does: a first restore, then incremental ones with its token. */
export function restore(): void {
  const mine = myWorkers();
  const w = mine.length ? mine[restored++ % mine.length]!.w : exec.scenario.iterationInTest % users.length;
  restoreOnce(w, sessions.get(w)?.token ? 'incremental' : 'first');
}

/** Restore storm: every worker does a first restore and then an incremental one with the token it got. */
export function restoreStorm(): void {
  const w = exec.scenario.iterationInTest % users.length;
  if (restoreOnce(w, 'first')) restoreOnce(w, 'incremental');
}

const SEARCH_TYPES = ['household', 'person', 'pregnancy', 'supply_point'];

/** Case search by type, as a phone's search screen does (answered from Elasticsearch by HQ). */
export function search(): void {
  const n = exec.scenario.iterationInTest;
  const u = users[n % users.length] as CorpusUser;
  const caseType = SEARCH_TYPES[n % SEARCH_TYPES.length]!;
  const res = get(`${target.baseUrl}/a/${target.domain}/phone/search/?case_type=${caseType}`, {
    headers: { Authorization: basic(u) },
    tags: { endpoint: 'search' },
    responseType: 'text',
  });
  const ok = check(res, {
    'search: 200': (r) => r.status === 200,
    'search: casedb': (r) => typeof r.body === 'string' && r.body.startsWith('<results'),
  });
  const now = Date.now();
  logLine(`{"e":"search","t":${now},"d":${res.timings.duration},"s":${res.status},"ok":${ok ? 1 : 0}}`, now, false);
}

const GOLDEN = 0.6180339887498949;

/**
 * Submissions, restores and searches in one arrival-rate scenario (so every VU of the pool also submits for the
 * workers it owns): iteration n is a restore or a search by a low-discrepancy sequence, in the run's proportions.
 */
export function mixed(): void {
  const total = 1 + restoreRatio + searchRatio;
  const u = (exec.scenario.iterationInTest * GOLDEN) % 1;
  if (u < 1 / total) submit();
  else if (u < (1 + restoreRatio) / total) restore();
  else search();
}

// Exports and the data API: a web user's browser asks for an export, polls it every exportPollS as HQ's export page
// does and downloads the file; an API client pages the form or case list by indexed_on (its cursor per VU).
const web = env.webUser;
const webBasic = web ? `Basic ${encoding.b64encode(`${web.username}:${web.password}`)}` : '';
const apiAuth = web ? `ApiKey ${web.username}:${web.apiKey}` : '';
// one sample per export: asked for -> file downloaded (ms); failed or given-up exports are counted apart
const exportCompletion = new Trend('export_completion', true);
const exportFailed = new Counter('export_failed');
let exportsAsked = 0;

// Written at once: these VUs send a request every few seconds at most, so a batched line could wait for a request
// that never comes (and be lost when the test ends).
function exportLine(e: string, res: { status: number; timings: { duration: number } }, ok: boolean, extra = ''): void {
  const now = Date.now();
  logLine(`{"e":"${e}","t":${now},"d":${res.timings.duration},"s":${res.status},"ok":${ok ? 1 : 0}${extra}}`, now, true);
}

/** One browser export: case and form exports in turn. */
export function exportBrowser(): void {
  const kind = exportsAsked++ % 2 === 0 ? 'case' : 'form';
  const started = Date.now();
  const base = `${target.baseUrl}/a/${target.domain}`;
  const asked = post(`${base}/data/export/custom/prepare_custom_export/`, JSON.stringify({ model_type: kind }), {
    headers: { Authorization: webBasic, 'Content-Type': 'application/json' },
    tags: { endpoint: 'export' },
    responseType: 'text',
  });
  let id = '';
  try {
    id = asked.status === 200 ? String((JSON.parse(String(asked.body)) as { download_id?: string }).download_id ?? '') : '';
  } catch {
    id = '';
  }
  const okAsked = check(asked, { 'export: download id': () => id !== '' });
  exportLine('export', asked, okAsked, `,"kind":"${kind}"`);
  if (!okAsked) {
    exportFailed.add(1);
    return;
  }
  const pollUrl = `${base}/data/export/custom/poll_custom_export_download/?download_id=${id}`;
  let downloadUrl = '';
  while (Date.now() - started < shape.exportTimeoutS * 1000) {
    sleep(shape.exportPollS);
    const res = get(pollUrl, { headers: { Authorization: webBasic }, tags: { endpoint: 'export_poll' }, responseType: 'text' });
    let status: { is_ready?: boolean; download_url?: string | null; progress?: { error?: boolean } } = {};
    try {
      status = JSON.parse(String(res.body)) as typeof status;
    } catch {
      status = {};
    }
    const ok = check(res, { 'export poll: 200': (r) => r.status === 200 && !status.progress?.error });
    exportLine('export_poll', res, ok);
    if (!ok && status.progress?.error) break;
    if (status.is_ready && status.download_url) {
      downloadUrl = status.download_url;
      break;
    }
  }
  if (!downloadUrl) {
    exportFailed.add(1);
    return;
  }
  // the file is read and dropped (a browser saves it): its bytes cost the web worker, not k6's memory
  const file = get(`${target.baseUrl}${downloadUrl}`, {
    headers: { Authorization: webBasic },
    tags: { endpoint: 'export_download' },
    responseType: 'none',
  });
  const okFile = check(file, { 'export download: 200': (r) => r.status === 200 });
  exportLine('export_download', file, okFile, `,"kind":"${kind}"`);
  if (okFile) exportCompletion.add(Date.now() - started);
  else exportFailed.add(1);
}

const apiNext = new Map<string, string>();
let apiPages = 0;

/** One data API page: the VU's list (form or case in turn) from where its cursor stands. */
export function apiPage(): void {
  const list = apiPages++ % 2 === 0 ? 'form' : 'case';
  const path = `/a/${target.domain}/api/v0.5/${list}/`;
  const at = apiNext.get(list) ?? `?order_by=indexed_on&limit=${shape.apiLimit}`;
  const res = get(`${target.baseUrl}${path}${at}`, {
    headers: { Authorization: apiAuth },
    tags: { endpoint: `api_${list}` },
    responseType: 'text',
  });
  let page: { meta?: { next?: string | null }; objects?: unknown[] } = {};
  try {
    page = JSON.parse(String(res.body)) as typeof page;
  } catch {
    page = {};
  }
  const ok = check(res, { 'api: 200 with objects': (r) => r.status === 200 && Array.isArray(page.objects) });
  // the cursor moves on while pages come; at the end of the list it stays, and the next page picks up what came since
  if (ok && page.meta?.next) apiNext.set(list, page.meta.next);
  exportLine(`api_${list}`, res, ok, `,"n":${page.objects?.length ?? 0}`);
}
