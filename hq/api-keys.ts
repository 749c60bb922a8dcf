// HQ's API-key auth (`Authorization: ApiKey <web user>:<key>`) and its throttle: a key past its request rate
// gets 429 with Retry-After, as HQ's API rate limit answers.
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

export interface ApiUser {
  username: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A new key for `username`, opening `domain` (or every domain): the key itself is shown only here. */
export async function createApiKey(pool: pg.Pool, username: string, domain?: string): Promise<string> {
  const key = randomBytes(20).toString('hex');
  await pool.query('insert into hq_api_key (key_hash, username, domain) values ($1, $2, $3)', [sha256(key), username, domain ?? null]);
  return key;
}

export function parseApiKeyHeader(header: string | undefined): { username: string; key: string } | undefined {
  const m = /^ApiKey\s+(\S+):(\S+)\s*$/i.exec(header ?? '');
  return m ? { username: m[1]!, key: m[2]! } : undefined;
}

export class ApiKeyAuthenticator {
  constructor(private readonly pool: pg.Pool) {}

  /** The web user whose key this is, when it opens `domain`; undefined (-> 401) otherwise. */
  async authenticate(domain: string, header: string | undefined): Promise<ApiUser | undefined> {
    const given = parseApiKeyHeader(header);
    if (!given) return undefined;
    const res = await this.pool.query<{ username: string }>(
      'select username from hq_api_key where key_hash = $1 and username = $2 and (domain is null or domain = $3)',
      [sha256(given.key), given.username, domain],
    );
    return res.rows[0] ? { username: res.rows[0].username } : undefined;
  }
}

/** Requests per second per key (token bucket of `burst`); CAPACITY_API_RATE sets the rate of the service's workers. */
export class ApiThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly burst = Math.max(1, perSecond),
  ) {}

  /** 0 when the request may go ahead, else the whole seconds to wait (Retry-After). */
  take(key: string, now = Date.now()): number {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
