// Web users and their API keys, as HQ has them: a web user logs in with a password (basic auth here, HQ's browser
// session) or calls the data API with `Authorization: ApiKey <username>:<key>`. Verified credentials are cached
// per process, as for mobile workers (hq/users.ts).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { hashPassword, parseBasicAuth } from './users.ts';

export interface WebUserAccount {
  username: string;
  password: string;
  /** An API key to keep (upserted); absent: the user keeps whatever keys it has. */
  apiKey?: string;
}

export interface AuthenticatedWebUser {
  username: string;
  domain: string;
  via: 'password' | 'apikey';
}

/** Creates or resets a web user of a domain (idempotent), with its API key when one is given. */
export async function ensureWebUser(pool: pg.Pool, domain: string, user: WebUserAccount): Promise<void> {
  const salt = randomBytes(8).toString('hex');
  await pool.query('insert into hq_domain (name) values ($1) on conflict do nothing', [domain]);
  await pool.query(
    `insert into hq_web_user (username, domain, password_salt, password_hash) values ($1, $2, $3, $4)
     on conflict (username) do update set domain = excluded.domain, password_salt = excluded.password_salt, password_hash = excluded.password_hash`,
    [user.username, domain, salt, hashPassword(salt, user.password)],
  );
  if (user.apiKey) {
    await pool.query(
      `insert into hq_api_key (key, username, name) values ($1, $2, 'capacity') on conflict (key) do update set username = excluded.username`,
      [user.apiKey, user.username],
    );
  }
}

/** A new API key for a web user (HQ: Settings > API Keys), returned once. */
export async function createApiKey(pool: pg.Pool, username: string, name = ''): Promise<string> {
  const key = randomBytes(20).toString('hex');
  const res = await pool.query(
    'insert into hq_api_key (key, username, name) select $1, username, $3 from hq_web_user where username = $2',
    [key, username, name],
  );
  if (res.rowCount !== 1) throw new Error(`no web user ${username}`);
  return key;
}

/** `ApiKey user:key`, the form HQ documents. */
export function parseApiKeyAuth(header: string | undefined): { username: string; key: string } | undefined {
  const m = /^ApiKey\s+([^:\s]+):(\S+)\s*$/i.exec(header ?? '');
  return m ? { username: m[1]!, key: m[2]! } : undefined;
}

export class WebAuthenticator {
  private cache = new Map<string, { user: AuthenticatedWebUser; until: number }>();
  constructor(
    private pool: pg.Pool,
    private ttlMs = 300_000,
  ) {}

  /** The web user of this domain the header names (basic auth or API key), or undefined (-> 401). */
  async authenticate(domain: string, header: string | undefined): Promise<AuthenticatedWebUser | undefined> {
    if (!header) return undefined;
    const cacheKey = `${domain}\u0000${header}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.until > Date.now()) return hit.user;
    const user = (await this.byApiKey(domain, header)) ?? (await this.byPassword(domain, header));
    if (!user) return undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { user, until: Date.now() + this.ttlMs });
    return user;
  }

  private async byApiKey(domain: string, header: string): Promise<AuthenticatedWebUser | undefined> {
    const creds = parseApiKeyAuth(header);
    if (!creds) return undefined;
    const res = await this.pool.query(
      'select k.key from hq_api_key k join hq_web_user u using (username) where u.username = $1 and u.domain = $2',
      [creds.username, domain],
    );
    const given = Buffer.from(creds.key);
    const ok = res.rows.some((r: { key: string }) => r.key.length === creds.key.length && timingSafeEqual(Buffer.from(r.key), given));
    return ok ? { username: creds.username, domain, via: 'apikey' } : undefined;
  }

  private async byPassword(domain: string, header: string): Promise<AuthenticatedWebUser | undefined> {
    const creds = parseBasicAuth(header);
    if (!creds) return undefined;
    const res = await this.pool.query('select password_salt, password_hash from hq_web_user where username = $1 and domain = $2', [
      creds.username,
      domain,
    ]);
    const row = res.rows[0] as { password_salt: string; password_hash: string } | undefined;
    if (!row) return undefined;
    const given = Buffer.from(hashPassword(row.password_salt, creds.password), 'hex');
    return timingSafeEqual(given, Buffer.from(row.password_hash, 'hex'))
      ? { username: creds.username, domain, via: 'password' }
      : undefined;
  }
}

/** The demo domain's web user: predictable, so a person can call the API with curl. */
export const DEMO_WEB_USER: Required<WebUserAccount> = {
  username: 'admin@demo.example.org',
  password: 'demo-admin-pass',
  apiKey: 'capacity-demo-api-key-0001',
};

/**
 * A new API key for `username` in `domain` (`capacity stack api-key`): the web user is made when missing (with a
 * password nobody is told: the key is what it is for); one of another domain is refused.
 */
export async function newApiKeyFor(pool: pg.Pool, domain: string, username: string): Promise<string> {
  const row = (await pool.query<{ domain: string }>('select domain from hq_web_user where username = $1', [username])).rows[0];
  if (row && row.domain !== domain) throw new Error(`web user ${username} belongs to domain ${row.domain}, not ${domain}`);
  if (!row) await ensureWebUser(pool, domain, { username, password: randomBytes(16).toString('hex') });
  return createApiKey(pool, username, 'capacity workers');
}
