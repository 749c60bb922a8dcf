// HQ's mobile worker API, the v0.5 user resource: list (paged), create, get, edit (password) and delete, with
// a web user's auth (API key or password) and the API throttle. `capacity workers create|delete` provisions through it, here as on HQ.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ApiThrottle } from './api-throttle.ts';
import type { WebAuthenticator } from './web-users.ts';
import { ensureMobileWorkers, fullUsername } from './users.ts';

export const USER_API_ROUTE = /^\/a\/([\w.-]+)\/api\/v0\.5\/user\/(?:([\w-]+)\/?)?$/;

export interface UserApiDeps {
  pool: pg.Pool;
  webAuth: WebAuthenticator;
  throttle?: ApiThrottle;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface WorkerRow {
  user_id: string;
  username: string;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function userObject(domain: string, r: WorkerRow): Record<string, unknown> {
  return {
    type: 'user',
    id: r.user_id,
    username: r.username,
    first_name: '',
    last_name: '',
    default_phone_number: null,
    email: '',
    phone_numbers: [],
    groups: [],
    locations: [],
    primary_location: null,
    user_data: {},
    resource_uri: `/a/${domain}/api/v0.5/user/${r.user_id}/`,
  };
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1024 * 1024) throw new ApiError(413, 'request body over 1 MB');
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ApiError(400, 'the body must be a JSON object');
}

async function list(deps: UserApiDeps, domain: string, url: URL): Promise<unknown> {
  const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
  const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
  const total = Number(
    (await deps.pool.query<{ n: string }>('select count(*) as n from hq_mobile_worker where domain = $1', [domain])).rows[0]!.n,
  );
  const rows = (
    await deps.pool.query<WorkerRow>(
      'select user_id, username from hq_mobile_worker where domain = $1 order by username limit $2 offset $3',
      [domain, limit, offset],
    )
  ).rows;
  const page = (o: number) => `/a/${domain}/api/v0.5/user/?limit=${limit}&offset=${o}`;
  return {
    meta: {
      limit,
      offset,
      total_count: total,
      next: offset + limit < total ? page(offset + limit) : null,
      previous: offset > 0 ? page(Math.max(0, offset - limit)) : null,
    },
    objects: rows.map((r) => userObject(domain, r)),
  };
}

async function create(deps: UserApiDeps, domain: string, body: Record<string, unknown>): Promise<unknown> {
  const { username, password } = body;
  if (typeof username !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(username.split('@')[0]!))
    throw new ApiError(400, 'username is required: lower case letters, digits, ., _ and -');
  if (typeof password !== 'string' || !password) throw new ApiError(400, 'password is required');
  const full = fullUsername(username, domain);
  if (!full.endsWith(`@${domain}.commcarehq.org`)) throw new ApiError(400, `username must be in domain ${domain}`);
  const taken = await deps.pool.query('select 1 from hq_mobile_worker where username = $1', [full]);
  if (taken.rowCount) throw new ApiError(400, `Username '${username}' is already taken or reserved.`);
  const userId = randomUUID().replaceAll('-', '');
  try {
    await ensureMobileWorkers(deps.pool, domain, [{ username: full, password, userId }]);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new ApiError(400, `Username '${username}' is already taken or reserved.`);
    throw err;
  }
  return userObject(domain, { user_id: userId, username: full });
}

async function one(deps: UserApiDeps, domain: string, id: string): Promise<WorkerRow> {
  const row = (
    await deps.pool.query<WorkerRow>('select user_id, username from hq_mobile_worker where domain = $1 and user_id = $2', [domain, id])
  ).rows[0];
  if (!row) throw new ApiError(404, `no mobile worker ${id}`);
  return row;
}

/** One request to the resource: where it came in, and the worker it names (none: the list). */
interface ApiCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  domain: string;
  id?: string;
  url: URL;
}

async function route(deps: UserApiDeps, { req, res, domain, id, url }: ApiCall): Promise<void> {
  const who = await deps.webAuth.authenticate(domain, req.headers.authorization);
  if (!who) throw new ApiError(401, 'a web user of this project space is required (Authorization: ApiKey <user>:<key>)');
  const wait = deps.throttle?.take(who.username) ?? 0;
  if (wait > 0) throw new ApiError(429, 'rate limit exceeded', { 'Retry-After': String(wait) });
  if (!id && req.method === 'GET') return json(res, 200, await list(deps, domain, url));
  if (!id && req.method === 'POST') return json(res, 201, await create(deps, domain, await readJson(req)));
  if (id && req.method === 'GET') return json(res, 200, userObject(domain, await one(deps, domain, id)));
  if (id && req.method === 'PUT') {
    const row = await one(deps, domain, id);
    const body = await readJson(req);
    if (body.password !== undefined) {
      if (typeof body.password !== 'string' || !body.password) throw new ApiError(400, 'password must be a non-empty string');
      await ensureMobileWorkers(deps.pool, domain, [{ username: row.username, password: body.password, userId: row.user_id }]);
    }
    return json(res, 200, userObject(domain, row));
  }
  if (id && req.method === 'DELETE') {
    await one(deps, domain, id);
    await deps.pool.query('delete from hq_mobile_worker where domain = $1 and user_id = $2', [domain, id]);
    return json(res, 204, undefined);
  }
  throw new ApiError(405, `${req.method} is not allowed here`);
}

/** Answers one request to the user resource (errors as `{"error": ...}` with HQ's status codes). */
export async function handleUserApi(
  deps: UserApiDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  domain: string,
  id: string | undefined,
  url: URL,
): Promise<void> {
  try {
    await route(deps, { req, res, domain, id, url });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    req.resume();
    json(res, err.status, { error: err.message }, err.headers);
  }
}
