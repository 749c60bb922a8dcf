// HQ's data API, v0.5 form and case lists (`/a/<domain>/api/v0.5/form/`, `/case/`), served from Elasticsearch as
// HQ serves them: `objects` in HQ's shapes and `meta` {limit, next, offset, previous, total_count}.
//
// Paging: by limit/offset, or (order_by=indexed_on) by indexed_on with a cursor. The cursor is the last object's
// (indexed_on, id): the next page starts strictly after it, so a client that follows `next` sees every document
// once even while documents are being added. Two rules make that hold while pillows write: documents indexed in the
// last SETTLE_MS are not served in cursor paging yet (a bulk write may still be becoming visible, with an
// indexed_on older than what is already visible), and in cursor paging `next` is given whenever the page was not
// empty (there may be more later: a client resumes from it).
import type http from 'node:http';
import type { Client as EsClient, estypes } from '@elastic/elasticsearch';
import { jsonError } from './http-error.ts';
import { requireWebUser } from './exports-web.ts';
import type { WebAuthenticator } from './web-users.ts';

export const API_ROUTES = {
  form: /^\/a\/([\w.-]+)\/api\/v0\.5\/form\/$/,
  case: /^\/a\/([\w.-]+)\/api\/v0\.5\/case\/$/,
};

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 1000;
/** Elasticsearch's index.max_result_window (its default). */
export const MAX_RESULT_WINDOW = 10_000;
/** Documents younger than this (by indexed_on) wait for the next page in cursor paging. */
export const SETTLE_MS = Number(process.env.CAPACITY_API_SETTLE_MS ?? 5000);

export interface ApiDeps {
  es: EsClient;
  webAuth: WebAuthenticator;
}

interface Cursor {
  /** indexed_on of the last object served (ms) */
  t: number;
  /** its id */
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.t === 'number' && typeof c.id === 'string') return c;
  } catch {
    // below
  }
  throw jsonError(400, 'bad cursor');
}

/** An ISO date or date-time (HQ accepts both) as epoch ms; a 400 for anything else. */
export function parseApiDate(name: string, v: string): number {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(v) ? v : `${v}Z`);
  if (!Number.isFinite(t)) throw jsonError(400, `${name}: not a date: ${v}`);
  return t;
}

export interface ListQuery {
  limit: number;
  offset: number;
  cursorMode: boolean;
  cursor?: Cursor;
  start?: number;
  end?: number;
  filters: Record<string, string>;
}

export function parseListQuery(params: URLSearchParams, filterNames: string[]): ListQuery {
  const int = (name: string, dflt: number) => {
    const v = params.get(name);
    if (v === null || v === '') return dflt;
    if (!/^\d+$/.test(v)) throw jsonError(400, `${name} must be a whole number`);
    return Number(v);
  };
  const limit = Math.min(int('limit', DEFAULT_LIMIT), MAX_LIMIT);
  if (limit < 1) throw jsonError(400, 'limit must be at least 1');
  const orderBy = params.get('order_by');
  if (orderBy && orderBy !== 'indexed_on') throw jsonError(400, `order_by=${orderBy} is not supported: use indexed_on`);
  const cursorParam = params.get('cursor');
  const startParam = params.get('indexed_on_start');
  const endParam = params.get('indexed_on_end');
  const filters: Record<string, string> = {};
  for (const f of filterNames) {
    const v = params.get(f);
    if (v) filters[f] = v;
  }
  const offset = int('offset', 0);
  // Elasticsearch's result window: deep offsets are what indexed_on paging is for
  if (orderBy !== 'indexed_on' && cursorParam === null && offset + limit > MAX_RESULT_WINDOW) {
    throw jsonError(400, `offset + limit may not exceed ${MAX_RESULT_WINDOW}: page with order_by=indexed_on`);
  }
  return {
    limit,
    offset,
    cursorMode: orderBy === 'indexed_on' || cursorParam !== null,
    cursor: cursorParam ? decodeCursor(cursorParam) : undefined,
    start: startParam ? parseApiDate('indexed_on_start', startParam) : undefined,
    end: endParam ? parseApiDate('indexed_on_end', endParam) : undefined,
    filters,
  };
}

type Source = Record<string, unknown>;

const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));

/** A form in the shape of HQ's v0.5 form resource. */
export function formObject(domain: string, id: string, src: Source): Record<string, unknown> {
  const form = (src.form ?? {}) as Record<string, unknown>;
  const meta = (form.meta ?? {}) as Record<string, unknown>;
  const m = (k: string) => str(meta[k] ?? meta[k.charAt(0).toUpperCase() + k.slice(1)]);
  return {
    id,
    domain,
    app_id: str(src.app_id),
    build_id: null,
    form: { '@xmlns': src.xmlns, ...form },
    metadata: {
      appVersion: m('appVersion'),
      deviceID: m('deviceID'),
      instanceID: m('instanceID') ?? id,
      timeStart: m('timeStart'),
      timeEnd: m('timeEnd'),
      userID: m('userID') ?? str(src.user_id),
      username: m('username'),
    },
    received_on: str(src.received_on),
    server_modified_on: str(src.received_on),
    indexed_on: str(src.inserted_at),
    archived: src.doc_type === 'XFormArchived',
    type: 'data',
    uiversion: str(form['@uiVersion']) ?? '1',
    version: str(form['@version']) ?? '1',
    attachments: {},
    is_phone_submission: true,
    edited_by_user_id: null,
    edited_on: null,
    initial_processing_complete: true,
    problem: null,
    resource_uri: `/a/${domain}/api/v0.5/form/${id}/`,
  };
}

/** A case in the shape of HQ's v0.5 case resource. */
export function caseObject(domain: string, id: string, src: Source): Record<string, unknown> {
  const props = (src.properties ?? {}) as Record<string, unknown>;
  const indices: Record<string, unknown> = {};
  for (const i of (src.indices ?? []) as { identifier: string; referenced_id: string; referenced_type: string }[]) {
    indices[i.identifier] = { case_id: i.referenced_id, case_type: i.referenced_type, relationship: 'child' };
  }
  return {
    id,
    case_id: id,
    domain,
    closed: src.closed === true,
    date_closed: str(src.closed_on),
    date_modified: str(src.modified_on),
    server_date_modified: str(src.server_modified_on),
    server_date_opened: str(src.opened_on),
    indexed_on: str(src.inserted_at),
    user_id: str(src.owner_id),
    indices,
    properties: {
      ...props,
      case_name: str(src.name),
      case_type: str(src.type),
      owner_id: str(src.owner_id),
      date_opened: str(src.opened_on),
      external_id: str(src.external_id),
    },
    xform_ids: [],
    resource_uri: `/a/${domain}/api/v0.5/case/${id}/`,
  };
}

const FILTERS = {
  form: { xmlns: 'xmlns', app_id: 'app_id', user_id: 'user_id' },
  case: { type: 'type', case_type: 'type', owner_id: 'owner_id' },
} as const;

export async function handleList(
  deps: ApiDeps,
  kind: 'form' | 'case',
  req: http.IncomingMessage,
  res: http.ServerResponse,
  domain: string,
  url: URL,
): Promise<void> {
  if (req.method !== 'GET') throw jsonError(405, 'GET only');
  await requireWebUser(deps.webAuth, domain, req);
  const fields = FILTERS[kind] as Record<string, string>;
  const q = parseListQuery(url.searchParams, Object.keys(fields));
  const filter: estypes.QueryDslQueryContainer[] = [{ term: { domain } }];
  if (kind === 'form') filter.push({ term: { doc_type: 'XFormInstance' } });
  for (const [k, v] of Object.entries(q.filters)) filter.push({ term: { [fields[k]!]: v } });
  const range: Record<string, number> = {};
  if (q.start !== undefined) range.gte = q.start;
  if (q.end !== undefined) range.lte = q.end;
  if (q.cursorMode) range.lt = Date.now() - SETTLE_MS;
  if (Object.keys(range).length) filter.push({ range: { inserted_at: { ...range, format: 'epoch_millis' } } });
  const index = kind === 'form' ? 'xforms' : 'hqcases';
  const result = await deps.es.search({
    index,
    size: q.limit,
    ...(q.cursorMode ? {} : { from: q.offset }),
    track_total_hits: true,
    query: { bool: { filter } },
    sort: [{ inserted_at: 'asc' }, { doc_id: 'asc' }],
    ...(q.cursor ? { search_after: [q.cursor.t, q.cursor.id] } : {}),
  });
  const hits = result.hits.hits;
  const objects = hits.map((h) => (kind === 'form' ? formObject : caseObject)(domain, String(h._id), (h._source ?? {}) as Source));
  const total = typeof result.hits.total === 'number' ? result.hits.total : (result.hits.total?.value ?? 0);
  const base = new URLSearchParams(url.searchParams);
  base.delete('cursor');
  base.delete('offset');
  base.set('limit', String(q.limit));
  let next: string | null = null;
  let previous: string | null = null;
  if (q.cursorMode) {
    const last = hits[hits.length - 1];
    if (last) {
      const p = new URLSearchParams(base);
      p.set('order_by', 'indexed_on');
      p.set('cursor', encodeCursor({ t: Number(last.sort![0]), id: String(last.sort![1]) }));
      next = `?${p}`;
    }
  } else {
    if (q.offset + hits.length < total)
      next = `?${new URLSearchParams({ ...Object.fromEntries(base), offset: String(q.offset + q.limit) })}`;
    if (q.offset > 0)
      previous = `?${new URLSearchParams({ ...Object.fromEntries(base), offset: String(Math.max(0, q.offset - q.limit)) })}`;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ meta: { limit: q.limit, next, offset: q.cursorMode ? 0 : q.offset, previous, total_count: total }, objects }));
}
