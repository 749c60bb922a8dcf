/**
 * HTTP requests a phone makes (form submission, restore) and readers for HQ's OpenRosa responses.
 * Requests are plain objects ({ method, url, headers, body }) so k6 scripts, Node clients and tests can
 * all send them. Platform neutral.
 */
import { XMLParser } from 'fast-xml-parser';
import { base64EncodeString } from './encoding.ts';
import { submissionMultipart, type SubmissionLike } from './multipart.ts';
import type { MobileWorker } from './render.ts';

export interface Target {
  /** e.g. http://localhost:8000 (no trailing slash needed). */
  baseUrl: string;
  domain: string;
  /** App build id: adds /<app_id>/ to receiver and restore URLs. */
  appId?: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

function base(t: Target): string {
  return t.baseUrl.replace(/\/+$/, '');
}

export function basicAuth(login: string, password: string): string {
  return `Basic ${base64EncodeString(`${login}:${password}`)}`;
}

export function receiverUrl(t: Target): string {
  return `${base(t)}/a/${encodeURIComponent(t.domain)}/receiver/${t.appId ? `${encodeURIComponent(t.appId)}/` : ''}`;
}

export interface SubmissionRequestOptions {
  /** multipart/form-data (what phones send; default) or the raw XML as the body. */
  multipart?: boolean;
  /** Include attachment parts (default true). */
  attachments?: boolean;
  /** X-OpenRosa-Version header (default 3.0: errors come back as 422, not 201 submit_error). */
  openRosaVersion?: string | null;
}

/** POST /a/<domain>/receiver/[<app_id>/] for one generated submission, as `worker`. */
export function submissionRequest(
  sub: SubmissionLike,
  worker: Pick<MobileWorker, 'login' | 'password'>,
  target: Target,
  opts: SubmissionRequestOptions = {},
): HttpRequest {
  const headers: Record<string, string> = { Authorization: basicAuth(worker.login, worker.password) };
  if (opts.openRosaVersion !== null) headers['X-OpenRosa-Version'] = opts.openRosaVersion ?? '3.0';
  if (opts.multipart === false) {
    headers['Content-Type'] = 'text/xml; charset=utf-8';
    return { method: 'POST', url: receiverUrl(target), headers, body: sub.xml };
  }
  const mp = submissionMultipart(sub, { attachments: opts.attachments });
  headers['Content-Type'] = mp.contentType;
  return { method: 'POST', url: receiverUrl(target), headers, body: mp.body };
}

export interface RestoreParams {
  deviceId: string;
  /** The sync token (restore_id) of the previous restore; absent for a full restore. */
  since?: string;
  version?: string;
  /** Restore as another (mobile) user: `as=<username@domain.commcarehq.org>`. */
  as?: string;
  skipFixtures?: boolean;
  items?: boolean;
  overwriteCache?: boolean;
}

/** /a/<domain>/phone/restore/[<app_id>/]?version=2.0&device_id=..[&since=..] */
export function restoreUrl(t: Target, p: RestoreParams): string {
  const q: string[] = [`version=${encodeURIComponent(p.version ?? '2.0')}`, `device_id=${encodeURIComponent(p.deviceId)}`];
  if (p.since) q.push(`since=${encodeURIComponent(p.since)}`);
  if (p.as) q.push(`as=${encodeURIComponent(p.as)}`);
  if (p.skipFixtures) q.push('skip_fixtures=true');
  if (p.items) q.push('items=true');
  if (p.overwriteCache) q.push('overwrite_cache=true');
  return `${base(t)}/a/${encodeURIComponent(t.domain)}/phone/restore/${t.appId ? `${encodeURIComponent(t.appId)}/` : ''}?${q.join('&')}`;
}

export function restoreRequest(
  worker: Pick<MobileWorker, 'login' | 'password' | 'deviceId'>,
  target: Target,
  opts: Omit<RestoreParams, 'deviceId'> = {},
): HttpRequest {
  return {
    method: 'GET',
    url: restoreUrl(target, { ...opts, deviceId: worker.deviceId }),
    headers: { Authorization: basicAuth(worker.login, worker.password), 'X-OpenRosa-Version': '3.0' },
  };
}

export type RestoreKind = 'success' | 'pending' | 'stale-token' | 'error';

export interface RestoreResult {
  status: number;
  kind: RestoreKind;
  /** `message nature`: ota_restore_success, ota_restore_pending, ota_restore_error... */
  nature?: string;
  message?: string;
  /** The sync token to send as `since` next time. */
  restoreId?: string;
  caseCount: number;
  caseIds: string[];
  /** `items="N"` on the root when requested with items=true. */
  items?: number;
  fixtures: { id: string; userId?: string }[];
  registration?: { username?: string; userId?: string };
  /** 202: async restore progress. */
  progress?: { done: number; total: number; retryAfter?: number };
  /** Seconds to wait before polling again (Retry-After header, else progress retry-after). */
  retryAfterSeconds?: number;
}

const restoreParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  // Case and fixture bodies can be huge: keep them as raw text (their attributes are still read).
  stopNodes: ['OpenRosaResponse.case', 'OpenRosaResponse.fixture'],
  isArray: (name, jpath) =>
    jpath === 'OpenRosaResponse.case' || jpath === 'OpenRosaResponse.fixture' || jpath === 'OpenRosaResponse.message',
});

type Obj = Record<string, unknown>;

function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'object') {
    const t = (v as Obj)['#text'];
    return t === undefined ? '' : String(t).trim();
  }
  return String(v);
}

function header(headers: Record<string, string | string[] | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const want = name.toLowerCase();
  for (const k of Object.keys(headers)) {
    if (k.toLowerCase() === want) {
      const v = headers[k];
      return Array.isArray(v) ? v[0] : v;
    }
  }
  return undefined;
}

/** Reads a restore response (any status): token, cases, fixtures, 202 progress, 412 stale token. */
export function readRestoreResponse(status: number, body: string, headers?: Record<string, string | string[] | undefined>): RestoreResult {
  const kind: RestoreKind = status === 200 ? 'success' : status === 202 ? 'pending' : status === 412 ? 'stale-token' : 'error';
  const res: RestoreResult = { status, kind, caseCount: 0, caseIds: [], fixtures: [] };
  const retry = header(headers, 'Retry-After');
  if (retry !== undefined && /^\d+$/.test(retry.trim())) res.retryAfterSeconds = Number(retry);
  if (!body || !body.trim()) {
    if (kind === 'success') res.kind = 'error';
    return res;
  }
  let doc: Obj;
  try {
    doc = restoreParser.parse(body) as Obj;
  } catch (err) {
    res.kind = 'error';
    res.message = `unreadable restore body: ${(err as Error).message}`;
    return res;
  }
  const root = doc.OpenRosaResponse as Obj | undefined;
  if (!root || typeof root !== 'object') {
    res.kind = 'error';
    res.message = 'restore body has no <OpenRosaResponse> root';
    return res;
  }
  const messages = (root.message as unknown[] | undefined) ?? [];
  const m = messages[0] as Obj | string | undefined;
  if (m !== undefined) {
    res.message = text(m);
    if (typeof m === 'object' && m['@nature'] !== undefined) res.nature = String(m['@nature']);
  }
  if (root['@items'] !== undefined) res.items = Number(root['@items']);
  const sync = root.Sync as Obj | undefined;
  if (sync && typeof sync === 'object') {
    const rid = text(sync.restore_id);
    if (rid) res.restoreId = rid;
    const p = sync.progress as Obj | undefined;
    if (p && typeof p === 'object') {
      res.progress = { done: Number(p['@done'] ?? 0), total: Number(p['@total'] ?? 0) };
      if (p['@retry-after'] !== undefined) res.progress.retryAfter = Number(p['@retry-after']);
      if (res.retryAfterSeconds === undefined && res.progress.retryAfter !== undefined) res.retryAfterSeconds = res.progress.retryAfter;
    }
  }
  const reg = root.Registration as Obj | undefined;
  if (reg && typeof reg === 'object') {
    res.registration = {};
    const u = text(reg.username);
    const id = text(reg.uuid);
    if (u !== undefined) res.registration.username = u;
    if (id !== undefined) res.registration.userId = id;
  }
  for (const c of (root.case as Obj[] | undefined) ?? []) {
    const id = c['@case_id'];
    if (id !== undefined) res.caseIds.push(String(id));
  }
  res.caseCount = res.caseIds.length;
  for (const f of (root.fixture as Obj[] | undefined) ?? []) {
    const fx: { id: string; userId?: string } = { id: String(f['@id'] ?? '') };
    if (f['@user_id'] !== undefined) fx.userId = String(f['@user_id']);
    res.fixtures.push(fx);
  }
  if (res.kind === 'success' && (res.nature === undefined ? !res.restoreId : !/success/.test(res.nature))) res.kind = 'error';
  return res;
}

export interface SubmitResult {
  status: number;
  ok: boolean;
  nature?: string;
  message?: string;
  formId?: string;
  location?: string;
}

const responseParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  isArray: (n) => n === 'message',
});

/** Reads HQ's answer to a form submission (201 submit_success; 422 processing_failure; 201 submit_error without v3). */
export function readSubmitResponse(status: number, body: string, headers?: Record<string, string | string[] | undefined>): SubmitResult {
  const res: SubmitResult = { status, ok: false };
  const formId = header(headers, 'X-CommCareHQ-FormID');
  if (formId) res.formId = formId;
  const loc = header(headers, 'Location');
  if (loc) res.location = loc;
  if (body && body.includes('<')) {
    try {
      const doc = responseParser.parse(body) as Obj;
      const root = doc.OpenRosaResponse as Obj | undefined;
      const m = (root?.message as unknown[] | undefined)?.[0] as Obj | string | undefined;
      if (m !== undefined) {
        res.message = text(m);
        if (typeof m === 'object' && m['@nature'] !== undefined) res.nature = String(m['@nature']);
      }
    } catch {
      // not XML: leave nature unset
    }
  }
  res.ok = (status === 201 || status === 200) && (res.nature === undefined || res.nature === 'submit_success');
  return res;
}

/**
 * One worker's sync state: the first `next()` is a full restore; after a 200 the token it returned makes
 * the next one incremental (`since=`); a 412 drops the token (the phone then restores from scratch);
 * a 202 keeps it (poll again after `retryAfterSeconds`).
 */
export class RestoreSession {
  token: string | undefined;
  restores = 0;

  constructor(
    readonly worker: Pick<MobileWorker, 'login' | 'password' | 'deviceId'>,
    readonly target: Target,
    readonly opts: Omit<RestoreParams, 'deviceId' | 'since'> = {},
  ) {}

  next(): HttpRequest {
    return restoreRequest(this.worker, this.target, this.token ? { ...this.opts, since: this.token } : this.opts);
  }

  handle(status: number, body: string, headers?: Record<string, string | string[] | undefined>): RestoreResult {
    const res = readRestoreResponse(status, body, headers);
    if (res.kind === 'success') {
      this.restores++;
      if (res.restoreId) this.token = res.restoreId;
    } else if (res.kind === 'stale-token') {
      this.token = undefined;
    }
    return res;
  }
}
