// Domains and mobile workers, and HTTP basic auth against them (verified credentials cached per process,
// as HQ caches its session/auth lookups, so auth does not dominate the measured cost).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type pg from 'pg';

export interface MobileWorkerAccount {
  username: string; // full: name@domain.commcarehq.org
  userId: string;
  password: string;
  deviceId?: string;
  /**
   * A web user with HQ's login-as permission (may restore `?as=` another user). Off for mobile workers; give it
   * only to a load test's dedicated account (ensureLoginAsUser), as commcare-perf restores `?as=` its workers.
   */
  loginAs?: boolean;
}

export interface AuthenticatedUser {
  userId: string;
  username: string;
  domain: string;
  /** May restore as another user of the domain. */
  canLoginAs?: boolean;
}

export function fullUsername(name: string, domain: string): string {
  return name.includes('@') ? name : `${name}@${domain}.commcarehq.org`;
}

export const hashPassword = (salt: string, password: string) => createHash('sha256').update(salt).update(password).digest('hex');

/** Creates the domain and upserts mobile workers (idempotent; passwords are reset to the given ones). */
export async function ensureMobileWorkers(pool: pg.Pool, domain: string, workers: MobileWorkerAccount[]): Promise<void> {
  recordSecrets(domain, workers);
  await pool.query('insert into hq_domain (name) values ($1) on conflict do nothing', [domain]);
  const batch = 500;
  for (let i = 0; i < workers.length; i += batch) {
    const slice = workers.slice(i, i + batch);
    const salts = slice.map(() => randomBytes(8).toString('hex'));
    // A login now belongs to another user id (a new seed): the new account replaces the old one.
    await pool.query('delete from hq_mobile_worker where username = any($1) and not (user_id = any($2))', [
      slice.map((w) => fullUsername(w.username, domain)),
      slice.map((w) => w.userId),
    ]);
    await pool.query(
      `insert into hq_mobile_worker (user_id, domain, username, password_salt, password_hash, device_id, login_as)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[])
       on conflict (user_id) do update set username = excluded.username, password_salt = excluded.password_salt,
         password_hash = excluded.password_hash, device_id = excluded.device_id, domain = excluded.domain,
         login_as = excluded.login_as`,
      [
        slice.map((w) => w.userId),
        slice.map(() => domain),
        slice.map((w) => fullUsername(w.username, domain)),
        salts,
        slice.map((w, j) => hashPassword(salts[j]!, w.password)),
        slice.map((w) => w.deviceId ?? null),
        slice.map((w) => w.loginAs === true),
      ],
    );
  }
}

/** A load test's dedicated web user, allowed to restore `?as=` the domain's mobile workers. */
export function ensureLoginAsUser(pool: pg.Pool, domain: string, account: Omit<MobileWorkerAccount, 'loginAs'>): Promise<void> {
  return ensureMobileWorkers(pool, domain, [{ ...account, loginAs: true }]);
}

/**
 * For the test suite only: with CAPACITY_SECRETS_RECORD=<file> (scripts/test.sh sets it), every login and password
 * given to the service is appended there, so test/secrets.test.ts can look for each in what the suite wrote.
 */
function recordSecrets(domain: string, workers: MobileWorkerAccount[]): void {
  const file = process.env.CAPACITY_SECRETS_RECORD;
  if (!file || workers.length === 0) return;
  const lines = workers.map((w) => JSON.stringify({ user: fullUsername(w.username, domain), password: w.password }));
  fs.appendFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  // no such user can exist (and PostgreSQL refuses NUL in text): a 401, not a 500
  if (i < 0 || decoded.includes('\0')) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export class Authenticator {
  private cache = new Map<string, { user: AuthenticatedUser; until: number }>();
  constructor(
    private pool: pg.Pool,
    private ttlMs = 300_000,
  ) {}

  /** The mobile worker for these credentials in this domain, or undefined (-> 401). */
  async authenticate(domain: string, header: string | undefined): Promise<AuthenticatedUser | undefined> {
    const creds = parseBasicAuth(header);
    if (!creds) return undefined;
    const username = fullUsername(creds.username, domain);
    const key = `${domain}\0${username}\0${creds.password}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.user;
    const res = await this.pool.query(
      'select user_id, password_salt, password_hash, login_as from hq_mobile_worker where username = $1 and domain = $2',
      [username, domain],
    );
    const row = res.rows[0] as { user_id: string; password_salt: string; password_hash: string; login_as: boolean } | undefined;
    if (!row) return undefined;
    const given = Buffer.from(hashPassword(row.password_salt, creds.password), 'hex');
    if (!timingSafeEqual(given, Buffer.from(row.password_hash, 'hex'))) return undefined;
    const user: AuthenticatedUser = { userId: row.user_id, username, domain, ...(row.login_as ? { canLoginAs: true } : {}) };
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(key, { user, until: Date.now() + this.ttlMs });
    return user;
  }

  async lookup(domain: string, usernameOrId: string): Promise<AuthenticatedUser | undefined> {
    const res = await this.pool.query(
      'select user_id, username from hq_mobile_worker where domain = $1 and (username = $2 or user_id = $3)',
      [domain, fullUsername(usernameOrId, domain), usernameOrId],
    );
    const row = res.rows[0] as { user_id: string; username: string } | undefined;
    return row ? { userId: row.user_id, username: row.username, domain } : undefined;
  }
}

/** The demo domain's mobile workers: predictable, so a person can post a form with curl. */
export function demoWorkers(count = 20): MobileWorkerAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(3, '0');
    return {
      username: `mobile${n}`,
      userId: createHash('md5').update(`demo-user-${n}`).digest('hex'),
      password: `demo-pass-${n}`,
      deviceId: `demo-device-${n}`,
    };
  });
}

export const DEMO_DOMAIN = 'demo';
