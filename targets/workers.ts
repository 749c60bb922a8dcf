// `capacity workers create|delete`: test mobile workers on a real HQ through its mobile worker API (the v0.5 user
// resource), and the credentials file a URL run reads. Idempotent: a name that exists is reused (its password
// from the credentials file, else set anew), and deleting what is gone is no error.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/fs.ts';
import { HqApiClient } from './hq-api.ts';
import { parseCredentials, type Credential } from './url-checks.ts';

export interface WorkersOptions {
  baseUrl: string;
  domain: string;
  apiKey: string;
  /** names are <prefix><n>, n from 1, zero-padded to 4 digits */
  prefix: string;
  log: (msg: string) => void;
  /** requests at a time (default 4) */
  concurrency?: number;
  /** for tests: how the client pauses */
  sleep?: (ms: number) => Promise<void>;
}

export interface ApiUserObject {
  id: string;
  username: string;
}

export interface CreateResult {
  created: number;
  reused: number;
  passwordsReset: number;
  throttled: number;
  credentials: Credential[];
}

const apiPath = (domain: string) => `/a/${domain}/api/v0.5/user/`;
const shortName = (u: string) => u.split('@')[0]!;

export function checkPrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9._-]*$/.test(prefix))
    throw new UserError(`--prefix "${prefix}" must start with a letter (lower case letters, digits, ., _ and -)`);
}

export function workerNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(Math.max(4, String(count).length), '0')}`);
}

/** Every mobile worker of the domain, page after page. */
export async function listWorkers(client: HqApiClient, domain: string): Promise<ApiUserObject[]> {
  const out: ApiUserObject[] = [];
  let next: string | null = `${apiPath(domain)}?limit=100&offset=0`;
  while (next) {
    const page = (await client.request('GET', next)).data as { meta?: { next?: string | null }; objects?: ApiUserObject[] };
    out.push(...(page.objects ?? []));
    // HQ's next is a full URL, a path with its query, or the query alone: keep the path and query
    const n = page.meta?.next;
    next = n ? (n.startsWith('?') ? `${apiPath(domain)}${n}` : n.replace(/^https?:\/\/[^/]+/, '')) : null;
  }
  return out;
}

async function eachLimited<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const work = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, work));
}

function readKnown(file: string): Map<string, string> {
  if (!fs.existsSync(file)) return new Map();
  return new Map(parseCredentials(fs.readFileSync(file, 'utf8'), file).map((c) => [shortName(c.username), c.password]));
}

const newPassword = () => randomBytes(12).toString('base64url');

/**
 * Workers <prefix>0001..<prefix>N: created when missing, reused when present. The credentials file (lines
 * username,password, worker 1 first) is written with mode 600 in one step, also when a request fails midway,
 * so no password of a worker made here is lost.
 */
export async function createWorkers(opts: WorkersOptions & { count: number; credentialsFile: string }): Promise<CreateResult> {
  checkPrefix(opts.prefix);
  const client = new HqApiClient({ baseUrl: opts.baseUrl, apiKey: opts.apiKey, log: opts.log, sleep: opts.sleep });
  const known = readKnown(opts.credentialsFile);
  const existing = new Map((await listWorkers(client, opts.domain)).map((u) => [shortName(u.username), u]));
  const names = workerNames(opts.prefix, opts.count);
  const creds: (Credential | undefined)[] = new Array(names.length);
  const result: CreateResult = { created: 0, reused: 0, passwordsReset: 0, throttled: 0, credentials: [] };
  const full = (n: string) => existing.get(n)?.username ?? `${n}@${opts.domain}.commcarehq.org`;
  try {
    await eachLimited(names, opts.concurrency ?? 4, async (name, i) => {
      const have = existing.get(name);
      if (have && known.has(name)) {
        creds[i] = { username: have.username, password: known.get(name)! };
        result.reused++;
      } else if (have) {
        // reused, but its password is not ours to know: set one
        const password = newPassword();
        await client.request('PUT', `${apiPath(opts.domain)}${have.id}/`, { password });
        creds[i] = { username: have.username, password };
        result.reused++;
        result.passwordsReset++;
      } else {
        const password = newPassword();
        const made = (await client.request('POST', apiPath(opts.domain), { username: name, password })).data as ApiUserObject | undefined;
        creds[i] = { username: made?.username ?? full(name), password };
        result.created++;
      }
    });
  } finally {
    // what is known is kept, in worker order; a worker not reached keeps the line it had
    const lines = names
      .map((n, i) => creds[i] ?? (known.has(n) ? { username: full(n), password: known.get(n)! } : undefined))
      .filter((c): c is Credential => !!c);
    if (lines.length) writeFileAtomic(opts.credentialsFile, `${lines.map((c) => `${c.username},${c.password}`).join('\n')}\n`, 0o600);
    result.credentials = lines;
    result.throttled = client.throttled;
  }
  return result;
}

/** Deletes every worker named <prefix><digits> on the domain; returns how many went. */
export async function deleteWorkers(opts: WorkersOptions): Promise<{ deleted: number; throttled: number }> {
  checkPrefix(opts.prefix);
  const client = new HqApiClient({ baseUrl: opts.baseUrl, apiKey: opts.apiKey, log: opts.log, sleep: opts.sleep });
  const mine = new RegExp(`^${opts.prefix.replace(/[.]/g, '\\.')}\\d+$`);
  const doomed = (await listWorkers(client, opts.domain)).filter((u) => mine.test(shortName(u.username)));
  let deleted = 0;
  await eachLimited(doomed, opts.concurrency ?? 4, async (u) => {
    // 404: already gone (another delete ran), which is what was asked
    const { status } = await client.request('DELETE', `${apiPath(opts.domain)}${u.id}/`, undefined, [200, 202, 204, 404]);
    if (status !== 404) deleted++;
  });
  return { deleted, throttled: client.throttled };
}
