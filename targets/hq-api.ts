// A client of HQ's web API with an API key: every request retried on 429 and 503 after the Retry-After HQ gives
// (seconds or an HTTP date), and on a dropped connection with a growing pause; a few attempts, then one line.
import fs from 'node:fs';
import { UserError } from '../core/errors.ts';

export interface ApiClientOptions {
  /** the target's base URL (no trailing slash) */
  baseUrl: string;
  /** `<web user>:<key>`, as in `Authorization: ApiKey <web user>:<key>` */
  apiKey: string;
  /** attempts per request (default 8) */
  attempts?: number;
  /** longest pause between attempts in ms (default 120 s) */
  maxWaitMs?: number;
  log?: (msg: string) => void;
  /** for tests: how a pause is made */
  sleep?: (ms: number) => Promise<void>;
}

/** The API key file's one line `<web user>:<key>`; one line when missing or malformed. */
export function readApiKeyFile(file: string | undefined): string {
  if (!file) throw new UserError('--api-key-file <file> is required: one line <web user>:<API key> (HQ: My Account Settings > API Keys)');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read API key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  if (!line || !/^[^\s:]+:\S+$/.test(line)) throw new UserError(`${file}: expected one line <web user>:<API key>`);
  return line;
}

/** Milliseconds a Retry-After header asks for (undefined when absent or unreadable). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class HqApiClient {
  /** requests answered 429 so far */
  throttled = 0;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: ApiClientOptions) {
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The response to `method path`, after retries; its JSON body (undefined for none). Other statuses: one line. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    okStatuses: number[] = [200, 201, 204],
  ): Promise<{ status: number; data: unknown }> {
    const attempts = this.opts.attempts ?? 8;
    const maxWait = this.opts.maxWaitMs ?? 120_000;
    const url = `${this.opts.baseUrl}${path}`;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            Authorization: `ApiKey ${this.opts.apiKey}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        if (attempt >= attempts) throw new UserError(`${method} ${url}: ${cause} (after ${attempts} attempts)`, 1);
        await this.sleep(Math.min(maxWait, 500 * 2 ** attempt));
        continue;
      }
      const text = await res.text();
      if (res.status === 429 || res.status === 503) {
        if (res.status === 429) this.throttled++;
        if (attempt >= attempts)
          throw new UserError(`${method} ${url}: still ${res.status} after ${attempts} attempts (HQ's API rate limit): try again later`, 1);
        const wait = Math.min(maxWait, retryAfterMs(res.headers.get('retry-after')) ?? 1000 * 2 ** attempt);
        this.opts.log?.(`${res.status} from ${path}: waiting ${(wait / 1000).toFixed(0)} s as asked`);
        await this.sleep(wait);
        continue;
      }
      let data: unknown;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        data = text;
      }
      if (okStatuses.includes(res.status)) return { status: res.status, data };
      const why = (data as { error?: string })?.error ?? (typeof data === 'string' ? data.slice(0, 200) : '');
      if (res.status === 401 || res.status === 403)
        throw new UserError(
          `${method} ${url}: ${res.status}: the API key was refused (it needs Edit Mobile Workers and API access on this project space)`,
        );
      throw new UserError(`${method} ${url}: ${res.status}${why ? `: ${why}` : ''}`, 1);
    }
  }
}
