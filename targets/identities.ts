// A real HQ's mobile workers as they are: one restore per credential, read for its Registration block (the
// worker's user_id and username), so the corpus is generated for the workers that will send it.
import { UserError } from '../core/errors.ts';
import type { WorkerIdentity } from '../generators/population.ts';
import { readRestoreResponse } from '../generators/requests.ts';
import type { Credential, ResolvedTarget } from './url-checks.ts';

const basic = (c: Credential) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/**
 * One worker's identity from a restore without fixtures (a 202 of HQ's asynchronous restore is polled as it asks);
 * a refused login or a restore without a Registration block is one line.
 */
async function learnOne(t: ResolvedTarget, cred: Credential): Promise<WorkerIdentity> {
  const url = `${t.baseUrl}/a/${t.domain}/phone/restore/${t.appId ? `${t.appId}/` : ''}?version=2.0&skip_fixtures=true`;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, {
        headers: { Authorization: basic(cred), 'X-OpenRosa-Version': '3.0' },
        signal: AbortSignal.timeout(120_000),
      });
      body = await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new UserError(`preflight failed: restore for mobile worker ${cred.username}: ${cause}`);
    }
    const parsed = readRestoreResponse(res.status, body, Object.fromEntries(res.headers));
    if (parsed.kind === 'pending' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(60, Math.max(1, parsed.retryAfterSeconds ?? 5)) * 1000));
      continue;
    }
    if (res.status !== 200)
      throw new UserError(
        `preflight failed: restore for mobile worker ${cred.username} answered ${res.status} (is the login right, and on domain ${t.domain}?)`,
      );
    const { userId, username } = parsed.registration ?? {};
    if (!userId || !username)
      throw new UserError(
        `preflight failed: the restore for mobile worker ${cred.username} has no Registration block with a uuid and username`,
      );
    return { userId, username };
  }
}

/**
 * Each credential's worker, in the credentials' order, a few restores at a time. Two logins of one worker are
 * refused: its forms would come from two generated timelines and break each other's sync tokens.
 */
export async function learnIdentities(t: ResolvedTarget, creds: Credential[], concurrency = 4): Promise<WorkerIdentity[]> {
  const out: WorkerIdentity[] = new Array(creds.length);
  let next = 0;
  const work = async () => {
    while (next < creds.length) {
      const i = next++;
      out[i] = await learnOne(t, creds[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, creds.length) }, work));
  const seen = new Map<string, string>();
  creds.forEach((c, i) => {
    const other = seen.get(out[i]!.userId);
    if (other)
      throw new UserError(
        `the credentials ${other} and ${c.username} are the same mobile worker (${out[i]!.userId}): give one line per worker`,
      );
    seen.set(out[i]!.userId, c.username);
  });
  return out;
}
