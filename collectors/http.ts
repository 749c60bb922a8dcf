// Plain HTTP GETs for the sources that speak HTTP (Elasticsearch/OpenSearch, RabbitMQ management, nginx,
// node_exporter). Credentials in the URL become a Basic Authorization header.
import http from 'node:http';
import https from 'node:https';

export interface HttpOptions {
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Splits `http://user:pass@host/path` into a credential-free URL and an Authorization header. */
export function splitCredentials(url: string): { url: string; authorization?: string } {
  const u = new URL(url);
  if (!u.username && !u.password) return { url: u.toString() };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

/** Joins a base URL (which may carry a path prefix and credentials) and a path. */
export function joinUrl(base: string, path: string): string {
  const u = new URL(base);
  const prefix = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
  const [p, q] = path.replace(/^\//, '').split('?', 2) as [string, string | undefined];
  u.pathname = prefix + p;
  u.search = q ? `?${q}` : '';
  return u.toString();
}

// node:http with keep-alive agents rather than fetch: a reading every second is a handful of small GETs, and
// undici's fetch costs several times the CPU of a plain request for them.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4 }),
};

function request(method: 'GET', url: string, opts: HttpOptions, body?: string): Promise<{ status: number; text: string; url: string }> {
  const { url: clean, authorization } = splitCredentials(url);
  const u = new URL(clean);
  const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
  if (!mod) return Promise.reject(new Error(`${clean}: only http and https URLs are supported`));
  // small answers on a near network: compressing them costs both ends more CPU than it saves
  const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(opts.headers ?? {}) };
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, agent: agents[u.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), url: clean });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${clean}: no answer after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

function check(method: string, r: { status: number; text: string; url: string }): string {
  if (r.status < 200 || r.status >= 300) {
    const snippet = r.text.replace(/\s+/g, ' ').trim().slice(0, 160);
    throw new HttpError(r.status, `${method} ${r.url}: HTTP ${r.status}${snippet ? `: ${snippet}` : ''}`);
  }
  return r.text;
}

export async function httpGetText(url: string, opts: HttpOptions = {}): Promise<string> {
  return check('GET', await request('GET', url, opts));
}

export async function httpGetJson<T = unknown>(url: string, opts: HttpOptions = {}): Promise<T> {
  const text = await httpGetText(url, { ...opts, headers: { accept: 'application/json', ...(opts.headers ?? {}) } });
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`GET ${splitCredentials(url).url}: not JSON: ${text.slice(0, 80)}`);
  }
}
