// One web worker of the HQ-compatible service (HQ runs several gunicorn workers behind nginx).
// Routes: the receiver, OTA restore, case search, heartbeat, and /healthz for the stack.
import http from 'node:http';
import { parseArgs } from 'node:util';
import busboy from 'busboy';
import { Client as EsClient } from '@elastic/elasticsearch';
import type pg from 'pg';
import { BlobStore } from './blobs.ts';
import { applySchema, createPool, waitForDatabase } from './db.ts';
import { openRosaMessage, submitSuccess, escapeXml } from './openrosa.ts';
import { OutboxDrainer } from './outbox.ts';
import { processSubmission } from './process-form.ts';
import { buildRestore } from './restore.ts';
import { formFromXml, SubmissionError, UnprocessableForm } from './submission.ts';
import { HttpError } from './http-error.ts';
import { Authenticator, fullUsername, type AuthenticatedUser } from './users.ts';
import { Redis } from 'ioredis';
import { ApiThrottle } from './api-throttle.ts';
import { API_ROUTES, handleList } from './data-api.ts';
import { TaskPublisher } from './export-queue.ts';
import { ExportStatusStore } from './export-status.ts';
import { EXPORT_ROUTES, handleDownload, handlePoll, handlePrepare, type ExportWebDeps } from './exports-web.ts';
import { handleUserApi, USER_API_ROUTE } from './user-api.ts';
import { WebAuthenticator } from './web-users.ts';

export const MAX_SUBMISSION_BYTES = 10 * 1024 * 1024;

export interface WebDeps {
  pool: pg.Pool;
  blobs: BlobStore;
  auth: Authenticator;
  outbox?: OutboxDrainer;
  es?: EsClient;
  /** The API (mobile workers' user resource): API keys and their throttle. */
  apiThrottle?: ApiThrottle;
  /** Added latency per request, to make a deliberately slower build for gate tests. */
  delayMs?: number;
  /** Web users (exports, data API). */
  webAuth?: WebAuthenticator;
  /** Exports: task statuses in Redis, tasks on RabbitMQ. */
  exports?: Omit<ExportWebDeps, 'webAuth' | 'blobs'>;
}

function exportDeps(deps: WebDeps): ExportWebDeps {
  if (!deps.exports || !deps.webAuth) throw new HttpError(503, 'exports need Redis and RabbitMQ');
  return { ...deps.exports, webAuth: deps.webAuth, blobs: deps.blobs };
}

function apiDeps(deps: WebDeps) {
  if (!deps.es || !deps.webAuth) throw new HttpError(503, 'the data API needs Elasticsearch');
  return { es: deps.es, webAuth: deps.webAuth };
}

const ROUTES = {
  receiver: /^\/a\/([\w.-]+)\/receiver\/(?:secure\/)?(?:([\w-]+)\/)?$/,
  restore: /^\/a\/([\w.-]+)\/phone\/restore\/(?:([\w-]+)\/)?$/,
  search: /^\/a\/([\w.-]+)\/phone\/search\/(?:([\w-]+)\/)?$/,
  heartbeat: /^\/a\/([\w.-]+)\/phone\/heartbeat\/([\w-]+)\/$/,
};

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new HttpError(413, 'request body over 10 MB'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, 'request body over 10 MB'));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The XML and attachments of a multipart submission (xml_submission_file + any other file parts). */
function readMultipart(req: http.IncomingMessage, body: Buffer): Promise<{ xml?: Buffer; attachments: { name: string; data: Buffer }[] }> {
  return new Promise((resolve, reject) => {
    const out: { xml?: Buffer; attachments: { name: string; data: Buffer }[] } = { attachments: [] };
    let bb: busboy.Busboy;
    try {
      // latin1: a part busboy reads as a field keeps its bytes (Buffer.from(value, 'latin1') gives them back)
      bb = busboy({
        headers: req.headers,
        defCharset: 'latin1',
        limits: { fileSize: MAX_SUBMISSION_BYTES, fieldSize: MAX_SUBMISSION_BYTES },
      });
    } catch (err) {
      return reject(new HttpError(400, `bad multipart body: ${(err as Error).message}`));
    }
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const data = Buffer.concat(chunks);
        if (field === 'xml_submission_file') out.xml = data;
        else out.attachments.push({ name: safeName(info.filename || field), data });
      });
    });
    bb.on('field', (field, value, info) => {
      if (field === 'xml_submission_file') out.xml = fieldBytes(value);
      // busboy reads a file part with an empty filename as a field: an attachment still, named after its part
      else if (info.mimeType !== 'text/plain') out.attachments.push({ name: safeName(field), data: fieldBytes(value) });
    });
    bb.on('error', (err) => reject(new HttpError(400, `bad multipart body: ${(err as Error).message}`)));
    bb.on('close', () => resolve(out));
    bb.end(body);
  });
}

/** A field's bytes: as sent when busboy decoded it as latin1 (no charset given), else its text in UTF-8. */
function fieldBytes(value: string): Buffer {
  return /[^\u0000-\u00ff]/.test(value) ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
}

/** An attachment name that is safe as the end of a file name: no separators, no leading dot, no "..". */
export function safeName(name: string): string {
  const cleaned = name
    .replace(/[^\w.-]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^\./, '_')
    .slice(0, 120);
  return cleaned === 'form.xml' ? 'attachment-form.xml' : cleaned || 'attachment';
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/xml; charset=utf-8', 'X-OpenRosa-Version': '3.0', ...headers });
  res.end(body);
}

async function requireUser(deps: WebDeps, domain: string, req: http.IncomingMessage): Promise<AuthenticatedUser> {
  const user = await deps.auth.authenticate(domain, req.headers.authorization);
  if (!user) {
    throw new HttpError(401, 'authentication required', openRosaMessage('submit_error', 'Authentication required'));
  }
  return user;
}

async function handleReceiver(deps: WebDeps, req: http.IncomingMessage, res: http.ServerResponse, domain: string, appId?: string) {
  if (req.method !== 'POST') throw new HttpError(405, 'POST only');
  const user = await requireUser(deps, domain, req);
  const body = await readBody(req, MAX_SUBMISSION_BYTES);
  if (body.length === 0) throw new HttpError(400, 'empty body', openRosaMessage('submit_error', 'No XML submission found'));
  const v3 = req.headers['x-openrosa-version'] === '3.0';
  let xml: Buffer | undefined = body;
  let attachments: { name: string; data: Buffer }[] = [];
  if (String(req.headers['content-type'] ?? '').startsWith('multipart/')) {
    ({ xml, attachments } = await readMultipart(req, body));
    if (!xml || xml.length === 0) {
      throw new HttpError(400, 'no xml_submission_file', openRosaMessage('submit_error', 'No xml_submission_file part in the request'));
    }
  }
  let form;
  try {
    form = formFromXml(xml);
  } catch (err) {
    if (err instanceof SubmissionError || err instanceof UnprocessableForm) {
      // HQ: with v3, 422 processing_failure (the phone keeps the form and retries); without, 201 submit_error.
      const msg = `Invalid XML: ${err.message}`;
      return send(res, v3 ? 422 : 201, openRosaMessage(v3 ? 'processing_failure' : 'submit_error', msg));
    }
    throw err;
  }
  const result = await processSubmission(deps.pool, deps.blobs, { domain, appId, authUserId: user.userId, xml, form, attachments });
  deps.outbox?.kick();
  send(res, 201, submitSuccess(), {
    'X-CommCareHQ-FormID': headerValue(result.formId),
    Location: `/a/${domain}/api/form/${encodeURIComponent(result.formId)}/`,
  });
}

async function handleRestore(deps: WebDeps, req: http.IncomingMessage, res: http.ServerResponse, domain: string, url: URL) {
  if (req.method !== 'GET') throw new HttpError(405, 'GET only');
  let user = await requireUser(deps, domain, req);
  const q = url.searchParams;
  const as = q.get('as');
  if (as && fullUsername(as, domain) !== user.username && as !== user.userId) {
    // HQ: restoring as another user needs a web user with the login-as permission; a mobile worker is refused.
    if (!user.canLoginAs) return send(res, 401, openRosaMessage('ota_restore_error', `${user.username} may not restore as another user`));
    const other = hasNul(as) ? undefined : await deps.auth.lookup(domain, as);
    if (!other) return send(res, 401, openRosaMessage('ota_restore_error', `Invalid restore as user ${as}`));
    user = other;
  }
  const since = q.get('since') || undefined;
  // A token with a NUL cannot be one HQ issued: unknown, so 412 and the phone does a full restore.
  if (since !== undefined && (hasNul(since) || since.length > 255)) {
    return send(res, 412, openRosaMessage('ota_restore_error', 'Invalid restore token. Please sync again.'));
  }
  const deviceId = q.get('device_id') || undefined;
  if (deviceId !== undefined && hasNul(deviceId))
    throw new HttpError(400, 'bad device_id', openRosaMessage('ota_restore_error', 'Invalid device_id'));
  const out = await buildRestore(deps.pool, user, {
    since,
    deviceId,
    items: q.get('items') === 'true',
    skipFixtures: q.get('skip_fixtures') === 'true',
  });
  send(res, out.status, out.body);
}

/**
 * A form id as a header value. The instanceID is the phone's to choose, and Node refuses a header that is not
 * printable Latin-1 (a 500 after the form was stored); like Django, HQ sends such a value RFC 2047-encoded.
 */
export function headerValue(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : `=?utf-8?b?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

/** PostgreSQL refuses NUL in text: such client input is answered here, never passed on to become a 500. */
const hasNul = (s: string) => s.includes('\0');

/** Case search as HQ does it: against the hqcases index in Elasticsearch, answered as a casedb. */
async function handleSearch(deps: WebDeps, req: http.IncomingMessage, res: http.ServerResponse, domain: string, url: URL) {
  await requireUser(deps, domain, req);
  if (!deps.es) throw new HttpError(503, 'case search needs Elasticsearch');
  const params = new URLSearchParams(url.search);
  if (req.method === 'POST') {
    const body = (await readBody(req, 1024 * 1024)).toString('utf8');
    for (const [k, v] of new URLSearchParams(body)) params.append(k, v);
  }
  const caseType = params.get('case_type');
  const must: object[] = [{ term: { domain } }, { term: { closed: false } }];
  if (caseType) must.push({ term: { type: caseType } });
  for (const [k, v] of params) {
    if (k === 'case_type' || k.startsWith('_') || !v) continue;
    must.push({ match: { [`properties.${k}`]: v } });
  }
  const result = await deps.es.search({ index: 'hqcases', size: 50, query: { bool: { must } } });
  const cases = result.hits.hits.map((h) => {
    const src = h._source as { type: string; name: string; owner_id: string; properties?: Record<string, string> };
    const props = Object.entries(src.properties ?? {})
      .filter(([k]) => /^[A-Za-z_][\w.-]*$/.test(k))
      .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
      .join('');
    return `<case case_id="${escapeXml(String(h._id))}" case_type="${escapeXml(src.type)}" owner_id="${escapeXml(src.owner_id)}" status="open"><case_name>${escapeXml(src.name ?? '')}</case_name>${props}</case>`;
  });
  send(res, 200, `<results id="case">${cases.join('')}</results>`);
}

export function createHandler(deps: WebDeps): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const run = async () => {
      if (deps.delayMs) await new Promise((r) => setTimeout(r, deps.delayMs));
      let m: RegExpExecArray | null;
      if (url.pathname === '/healthz') {
        await deps.pool.query('select 1');
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end('ok\n');
      }
      if ((m = ROUTES.receiver.exec(url.pathname))) return handleReceiver(deps, req, res, m[1]!, m[2]);
      if ((m = ROUTES.restore.exec(url.pathname))) return handleRestore(deps, req, res, m[1]!, url);
      if ((m = ROUTES.search.exec(url.pathname))) return handleSearch(deps, req, res, m[1]!, url);
      if ((m = USER_API_ROUTE.exec(url.pathname)) && deps.webAuth) {
        return handleUserApi({ pool: deps.pool, webAuth: deps.webAuth, throttle: deps.apiThrottle }, req, res, m[1]!, m[2], url);
      }
      if ((m = ROUTES.heartbeat.exec(url.pathname))) {
        await requireUser(deps, m[1]!, req);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ app_id: m[2], latest_apk_version: {}, latest_ccz_version: {} }));
      }
      if ((m = API_ROUTES.form.exec(url.pathname))) return handleList(apiDeps(deps), 'form', req, res, m[1]!, url);
      if ((m = API_ROUTES.case.exec(url.pathname))) return handleList(apiDeps(deps), 'case', req, res, m[1]!, url);
      if ((m = EXPORT_ROUTES.prepare.exec(url.pathname))) {
        const body = req.method === 'POST' ? (await readBody(req, 1024 * 1024)).toString('utf8') : '';
        return handlePrepare(exportDeps(deps), req, res, m[1]!, body);
      }
      if ((m = EXPORT_ROUTES.poll.exec(url.pathname))) return handlePoll(exportDeps(deps), req, res, m[1]!, url);
      if ((m = EXPORT_ROUTES.download.exec(url.pathname))) return handleDownload(exportDeps(deps), req, res, m[1]!, m[2]!);
      throw new HttpError(404, 'not found');
    };
    run().catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) {
        return send(res, err.status, err.body ?? openRosaMessage('submit_error', err.message), {
          ...(err.status === 401 ? { 'WWW-Authenticate': 'Basic realm="CommCare HQ"' } : {}),
          ...(err.contentType ? { 'Content-Type': err.contentType } : {}),
        });
      }
      // Database or storage trouble: a 500 with nothing acknowledged; the phone will retry.
      process.stderr.write(`${new Date().toISOString()} ${req.method} ${url.pathname} failed: ${(err as Error).stack ?? err}\n`);
      send(res, 500, openRosaMessage('submit_error', 'Internal server error'));
    });
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'pg-url': { type: 'string' },
      kafka: { type: 'string' },
      es: { type: 'string' },
      blobs: { type: 'string' },
      'delay-ms': { type: 'string', default: '0' },
      redis: { type: 'string' },
      amqp: { type: 'string' },
    },
  });
  const pool = createPool(values['pg-url']!, 12);
  await waitForDatabase(pool);
  await applySchema(pool);
  const outbox = new OutboxDrainer({
    pgUrl: values['pg-url']!,
    brokers: [values.kafka!],
    lingerMs: Number(process.env.CAPACITY_OUTBOX_LINGER_MS ?? 25),
    log: (m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`),
  });
  outbox.start();
  const deps: WebDeps = {
    pool,
    blobs: new BlobStore(values.blobs!),
    auth: new Authenticator(pool),
    // HQ throttles its API per user; each web worker holds its own share (CAPACITY_API_RATE requests/s per user)
    apiThrottle: new ApiThrottle(Number(process.env.CAPACITY_API_RATE ?? 20)),
    outbox,
    es: new EsClient({ node: values.es! }),
    delayMs: Number(values['delay-ms']),
    webAuth: new WebAuthenticator(pool),
  };
  let redis: Redis | undefined;
  if (values.redis && values.amqp) {
    redis = new Redis(values.redis, { maxRetriesPerRequest: 2, retryStrategy: () => 500 });
    redis.on('error', () => undefined);
    deps.exports = { statuses: new ExportStatusStore(redis), publisher: new TaskPublisher(values.amqp) };
  }
  const server = http.createServer({ keepAliveTimeout: 70_000 }, createHandler(deps));
  server.listen(Number(values.port), values.host, () => {
    process.stderr.write(`${new Date().toISOString()} web worker ${process.pid} listening on ${values.host}:${values.port}\n`);
  });
  const shutdown = () => {
    server.close();
    redis?.disconnect();
    void deps.exports?.publisher.close();
    void outbox
      .stop()
      .then(() => pool.end())
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (process.argv[1]?.endsWith('web.ts')) {
  main().catch((err) => {
    process.stderr.write(`web worker failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
