/// <reference types="k6" />
// What a VU does: submit the next corpus form of a worker, restore (first then incremental), search cases.
// Every request is tagged by endpoint (and form), and checks read the body, not only the status.
import { check } from 'k6';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import * as fs from 'k6/experimental/fs';
import { Counter } from 'k6/metrics';
import { RestoreSession } from './generated/requests.k6.js';
import { runEnv } from './params.ts';
import type { MobileWorker } from '../../generators/render.ts';

const env = runEnv();
const target = { baseUrl: env.baseUrl, domain: env.domain, appId: env.appId };

/** One row of the corpus's users.json: a generated mobile worker, its forms file and form count. */
interface CorpusUser extends Omit<MobileWorker, 'home'> {
  file: string;
  forms: number;
}

/** Where one request body is in a worker's body pack (written by `capacity run`, see runner/corpus.ts). */
interface PackedBody {
  offset: number;
  length: number;
  contentType: string;
  form: string;
  kind: string;
}

const users = new SharedArray('users', () => JSON.parse(open(env.usersFile ?? `${env.corpusDir}/users.json`)) as CorpusUser[]);
const index = new SharedArray('bodies', () => JSON.parse(open(`${env.corpusDir}/bodies/index.json`)) as PackedBody[]);
const { starts, counts } = JSON.parse(open(`${env.corpusDir}/bodies/starts.json`)) as { starts: number[]; counts: number[] };
// k6/experimental/fs keeps one copy of each file for all VUs; reads copy only the body asked for.
const packs: fs.File[] = [];
for (let i = 0; i < users.length; i++) packs.push(await fs.open(`${env.corpusDir}/bodies/w${i}.bin`));

const corpusExhausted = new Counter('corpus_exhausted');
const acked = new Counter('forms_acknowledged');

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

function receiverUrl(): string {
  return `${target.baseUrl}/a/${target.domain}/receiver/${target.appId ? `${target.appId}/` : ''}`;
}

/**
 * Submission n of the scenario goes to worker n % users, as that worker's next form. Worker timelines stay in
 * order unless one worker's previous form is still in flight `users` iterations later (latency > users / rate).
 */
export async function submit(): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const w = n % users.length;
  const k = Math.floor(n / users.length);
  const rec = k < counts[w]! ? (index[starts[w]! + k] as PackedBody) : undefined;
  const u = users[w] as CorpusUser;
  if (!rec) {
    corpusExhausted.add(1);
    return;
  }
  const body = new Uint8Array(rec.length);
  const pack = packs[w]!;
  await pack.seek(rec.offset, fs.SeekMode.Start);
  await pack.read(body);
  const res = http.post(receiverUrl(), body.buffer, {
    headers: {
      Authorization: basic(u),
      'Content-Type': rec.contentType,
      'X-OpenRosa-Version': '3.0',
    },
    tags: { endpoint: 'receiver', form: rec.form },
    responseType: 'text',
  });
  // One check that reads the body: a 201 whose message is submit_success (HQ's 201 submit_error is a failure).
  const ok = check(res, {
    'submit: 201 submit_success': (r) => r.status === 201 && typeof r.body === 'string' && r.body.includes('nature="submit_success"'),
  });
  if (ok) {
    acked.add(1);
    if (env.ackLog === 'all') {
      const formId = res.headers['X-Commcarehq-Formid'] ?? res.headers['X-CommCareHQ-FormID'] ?? '';
      console.log(JSON.stringify({ ack: formId, t: Date.now(), w, form: rec.form }));
    }
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

/** A worker syncs: incremental when this VU holds its token, else a first restore. */
export function restore(): void {
  const w = exec.scenario.iterationInTest % users.length;
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
