/// <reference types="k6" />
// What a VU does: submit the next corpus form of a worker, restore (first then incremental), search cases.
// Every request is tagged by endpoint (and form), and checks read the body, not only the status.
import { check } from 'k6';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import { Counter, Rate } from 'k6/metrics';
import { RestoreSession } from './generated/requests.k6.js';
import type { PackLayout, WorkerPackIndex } from './bodies.ts';
import { ownedWorkers, segmentIndex, segmentWorkers, type Ownership } from './ownership.ts';
import { runEnv } from './params.ts';
import { resolveShape } from './shapes.ts';
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
const users = planning ? ([] as CorpusUser[]) : new SharedArray('users', () => JSON.parse(open(env.usersFile ?? `${env.corpusDir}/users.json`)) as CorpusUser[]);
const ownership: Ownership = { users: users.length, segments: env.ownership?.segments ?? 1, pool: env.ownership?.pool ?? 0 };
const formNames = planning ? [] : (JSON.parse(open(`${env.corpusDir}/bodies/layout.json`)) as PackLayout).forms;

const authHeaders = new Map<string, string>();

/** Basic auth per worker, encoded once per VU. */
function basic(u: CorpusUser): string {
  let h = authHeaders.get(u.login);
  if (!h) {
    h = `Basic ${encoding.b64encode(`${u.login}:${u.password}`)}`;
    authHeaders.set(u.login, h);
  }
  return h;
}

/** A worker this VU sends for: its bodies in memory, one buffer each, in timeline order. */
interface OwnedWorker {
  w: number;
  auth: string;
  bodies: ArrayBuffer[];
  types: string[];
  forms: number[];
}

function loadWorker(w: number): OwnedWorker {
  const pack = open(`${env.corpusDir}/bodies/w${w}.bin`, 'b');
  const index = JSON.parse(open(`${env.corpusDir}/bodies/w${w}.json`)) as WorkerPackIndex;
  // sliced once here: a request then posts a buffer as it is, with no copy
  const bodies: ArrayBuffer[] = [];
  let at = 0;
  for (const len of index.lengths) {
    bodies.push(pack.slice(at, at + len));
    at += len;
  }
  return { w, auth: basic(users[w] as CorpusUser), bodies, types: index.types, forms: index.forms };
}

// k6 lets a VU open only files that the first init pass (__VU 0) opened: that pass opens every pack this
// generator may send. A VU then loads the workers it owns in each segment it may turn out to be (the runner names
// the segment; a k6-operator pod learns it at run time).
const ownedBySegment = new Map<number, OwnedWorker[]>();
if (!planning) {
  const segments = env.ownership?.segment !== undefined ? [env.ownership.segment] : Array.from({ length: ownership.segments }, (_, s) => s);
  for (const s of segments) {
    if (__VU === 0) {
      for (const w of segmentWorkers(ownership, s)) {
        open(`${env.corpusDir}/bodies/w${w}.bin`, 'b');
        open(`${env.corpusDir}/bodies/w${w}.json`);
      }
    } else {
      ownedBySegment.set(s, ownedWorkers(ownership, s, __VU).map(loadWorker));
    }
  }
}

let own: OwnedWorker[] | undefined;
function myWorkers(): OwnedWorker[] {
  own ??= ownedBySegment.get(env.ownership?.segment ?? segmentIndex(exec.test.options.executionSegment as unknown as string | undefined, ownership.segments)) ?? [];
  return own;
}

const corpusExhausted = new Counter('corpus_exhausted');
// Every submission's checked answer; its passes are the forms acknowledged (one sample a request: each costs k6 ~5 %).
const accepted = new Rate('submit_accepted');

const receiverUrl = `${target.baseUrl}/a/${target.domain}/receiver/${target.appId ? `${target.appId}/` : ''}`;

let submitted = 0;

/**
 * The next form of one of this VU's workers, in turn: each worker's forms go strictly in timeline order, one at a
 * time (scenarios/lib/ownership.ts says which VU owns which worker).
 */
export function submit(): void {
  const mine = myWorkers();
  const o = mine[submitted % mine.length];
  const j = Math.floor(submitted / mine.length);
  submitted++;
  if (!o || j >= o.bodies.length) {
    corpusExhausted.add(1);
    return;
  }
  const form = formNames[o.forms[j]!]!;
  const res = http.post(receiverUrl, o.bodies[j]!, {
    headers: { Authorization: o.auth, 'Content-Type': o.types[j]!, 'X-OpenRosa-Version': '3.0' },
    tags: { endpoint: 'receiver', form },
    responseType: 'text',
  });
  // The check that reads the body, as a rate (k6's check() costs a tagged sample per call, a fifth of a bare post):
  // a 201 whose message is submit_success (HQ's 201 submit_error is a failure).
  const ok = res.status === 201 && typeof res.body === 'string' && res.body.includes('nature="submit_success"');
  accepted.add(ok);
  if (ok) {
    // one raw console line per acknowledged form (runner/liveness.ts reads them); form ids are hex, names are ids
    if (env.ackLog === 'all') console.log(`{"ack":"${res.headers['X-Commcarehq-Formid'] ?? ''}","t":${Date.now()},"w":${o.w},"form":"${form}"}`);
  }
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
  const res = http.get(req.url, { headers: req.headers, tags: { endpoint: 'restore', restore_kind: s.token ? 'incremental' : 'first' }, responseType: 'text' });
  const parsed = s.handle(res.status, typeof res.body === 'string' ? res.body : '', res.headers);
  return check(res, {
    'restore: 200': (r) => r.status === 200,
    'restore: restore_id': () => parsed.kind === 'success' && !!parsed.restoreId,
  });
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
  const res = http.get(`${target.baseUrl}/a/${target.domain}/phone/search/?case_type=${caseType}`, {
    headers: { Authorization: basic(u) },
    tags: { endpoint: 'search' },
    responseType: 'text',
  });
  check(res, {
    'search: 200': (r) => r.status === 200,
    'search: casedb': (r) => typeof r.body === 'string' && r.body.startsWith('<results'),
  });
}

const GOLDEN = 0.6180339887498949;

const { restoreRatio, searchRatio } = resolveShape(env.scenario, env.shape);

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
