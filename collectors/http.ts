// Plain HTTP GETs for the sources that speak HTTP (Elasticsearch/OpenSearch, RabbitMQ management, nginx,
// node_exporter). Credentials in the URL become a Basic Authorization header (fetch refuses URLs with them).

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

export async function httpGetText(url: string, opts: HttpOptions = {}): Promise<string> {
  const { url: clean, authorization } = splitCredentials(url);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(clean, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
  const text = await res.text();
  if (!res.ok) {
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 160);
    throw new HttpError(res.status, `GET ${clean}: HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`);
  }
  return text;
}

export async function httpGetJson<T = unknown>(url: string, opts: HttpOptions = {}): Promise<T> {
  const text = await httpGetText(url, { ...opts, headers: { accept: 'application/json', ...(opts.headers ?? {}) } });
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`GET ${splitCredentials(url).url}: not JSON: ${text.slice(0, 80)}`);
  }
}

export async function httpPostJson<T = unknown>(url: string, body: unknown, opts: HttpOptions = {}): Promise<T> {
  const { url: clean, authorization } = splitCredentials(url);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...(opts.headers ?? {}) };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(clean, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
  const text = await res.text();
  if (!res.ok) throw new HttpError(res.status, `POST ${clean}: HTTP ${res.status}: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
  return JSON.parse(text) as T;
}
