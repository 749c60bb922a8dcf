// Where the load goes, and the checks before any load is sent.
import { isIP } from 'node:net';
import { UserError } from '../core/errors.ts';

export interface Credential {
  username: string;
  password: string;
}

export interface ResolvedTarget {
  kind: 'local' | 'url';
  baseUrl: string;
  domain: string;
  appId?: string;
  /** For data liveness: where acknowledged forms become searchable (undefined: not followed). */
  elasticsearchUrl?: string;
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/** Parses --target <url>; a target outside loopback needs an explicit --allow-remote. */
export function parseTargetUrl(text: string, allowRemote: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--target must be "local" or a URL such as https://hq.example.org, not "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`--target ${text}: only http and https are supported`);
  if (url.username || url.password)
    throw new UserError('--target must not carry credentials: use --credentials <file> or CAPACITY_CREDENTIALS');
  if (!isLoopbackHost(url.hostname) && !allowRemote) {
    throw new UserError(`--target ${url.origin} is not on this machine: pass --allow-remote to load it on purpose`);
  }
  return url;
}

/** Credentials for a real target: a JSON list [{username, password}] or CSV lines username,password. */
export function parseCredentials(text: string, source: string): Credential[] {
  const t = text.trim();
  let out: Credential[];
  if (t.startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(t);
    } catch {
      throw new UserError(`${source}: not valid JSON`);
    }
    out = (data as Record<string, unknown>[]).map((r, i) => {
      if (typeof r?.username !== 'string' || typeof r?.password !== 'string')
        throw new UserError(`${source}: entry ${i + 1} needs username and password`);
      return { username: r.username, password: r.password };
    });
  } else {
    out = t
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l, i) => {
        const [username, ...rest] = l.split(',');
        const password = rest.join(',');
        if (!username?.trim() || !password) throw new UserError(`${source}:${i + 1}: expected username,password`);
        return { username: username.trim(), password: password.trim() };
      });
  }
  if (out.length === 0) throw new UserError(`${source}: no credentials`);
  return out;
}

export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** The one line a failed preflight is refused with. */
export function failedPreflight(checks: PreflightCheck[]): UserError {
  return new UserError(
    `preflight failed: ${checks
      .filter((c) => !c.ok)
      .map((c) => `${c.name} (${c.detail})`)
      .join('; ')}`,
  );
}

/** Reachable, and the credentials are accepted (one restore with skip_fixtures). */
export async function preflightTarget(t: ResolvedTarget, cred: Credential): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const restoreUrl = `${t.baseUrl}/a/${t.domain}/phone/restore/${t.appId ? `${t.appId}/` : ''}?version=2.0&skip_fixtures=true`;
  let res: Response | undefined;
  try {
    res = await fetch(restoreUrl, {
      headers: { Authorization: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` },
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    checks.push({ name: 'target reachable', ok: true, detail: `${t.baseUrl} answered ${res.status}` });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    checks.push({ name: 'target reachable', ok: false, detail: `${t.baseUrl}: ${cause}` });
    return checks;
  }
  if (res.status === 401 || res.status === 403) {
    checks.push({ name: 'credentials accepted', ok: false, detail: `${res.status} for the first mobile worker on domain ${t.domain}` });
  } else if (res.status === 404) {
    checks.push({ name: 'credentials accepted', ok: false, detail: `404: no domain ${t.domain} (or no restore endpoint) at ${t.baseUrl}` });
  } else {
    checks.push({ name: 'credentials accepted', ok: res.status === 200, detail: `restore answered ${res.status}` });
  }
  return checks;
}
