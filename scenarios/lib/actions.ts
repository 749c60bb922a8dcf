/// <reference types="k6" />
// What a VU does: submit the next corpus form of a worker, restore (first then incremental), search cases.
// Every request is tagged by endpoint (and form), and checks read the body, not only the status.
import { check } from 'k6';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import { Counter } from 'k6/metrics';
import { RestoreSession } from './generated/requests.k6.js';
import { runEnv } from './params.ts';

const env = runEnv();
const target = { baseUrl: env.baseUrl, domain: env.domain, appId: env.appId };

interface CorpusUser {
  index: number;
  username: string;
  login: string;
  password: string;
  userId: string;
  deviceId: string;
  file: string;
  forms: number;
}

/** One line of a corpus file (forms/wNNNN.ndjson), as `capacity generate` writes it. */
interface CorpusRecord {
  form: string;
  kind: string;
  instanceID: string;
  contentType?: string;
  body64?: string;
  xml?: string;
}

function readNdjson(text: string): CorpusRecord[] {
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as CorpusRecord);
}

const users = new SharedArray('users', () => JSON.parse(open(`${env.corpusDir}/users.json`)) as CorpusUser[]);
// One SharedArray per worker file: parsed once, shared read-only by every VU.
const corpora: { records: CorpusRecord[] }[] = [];
for (let i = 0; i < users.length; i++) {
  const u = users[i] as CorpusUser;
  corpora.push({ records: new SharedArray(`w${i}`, () => readNdjson(open(`${env.corpusDir}/${u.file}`))) as unknown as CorpusRecord[] });
}

const corpusExhausted = new Counter('corpus_exhausted');
const acked = new Counter('forms_acknowledged');

function basic(u: CorpusUser): string {
  return `Basic ${encoding.b64encode(`${u.login}:${u.password}`)}`;
}

function receiverUrl(): string {
  return `${target.baseUrl}/a/${target.domain}/receiver/${target.appId ? `${target.appId}/` : ''}`;
}

/**
 * Submission n of the scenario goes to worker n % users, as that worker's next form. Worker timelines stay in
 * order unless one worker's previous form is still in flight `users` iterations later (latency > users / rate).
 */
export function submit(): void {
  const n = exec.scenario.iterationInTest;
  const w = n % users.length;
  const k = Math.floor(n / users.length);
  const rec = corpora[w]!.records[k];
  const u = users[w] as CorpusUser;
  if (!rec) {
    corpusExhausted.add(1);
    return;
  }
  const body = rec.body64 ? encoding.b64decode(rec.body64) : (rec.xml ?? '');
  const res = http.post(receiverUrl(), body, {
    headers: {
      Authorization: basic(u),
      'Content-Type': rec.contentType ?? 'text/xml; charset=utf-8',
      'X-OpenRosa-Version': '3.0',
    },
    tags: { endpoint: 'receiver', form: rec.form, kind: rec.kind },
    responseType: 'text',
  });
  const ok = check(res, {
    'submit: 201': (r) => r.status === 201,
    'submit: submit_success': (r) => typeof r.body === 'string' && r.body.includes('nature="submit_success"'),
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
