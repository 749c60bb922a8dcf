// A real HQ's mobile workers as they are: one restore per credential, read for its Registration block (the
// worker's user_id and username), so the corpus is generated for the workers that will send it.
import { UserError } from '../core/errors.ts';
import type { WorkerIdentity } from '../generators/population.ts';
import type { Credential, ResolvedTarget } from './url-checks.ts';

/** The Registration block of a restore: `<uuid>` and `<username>` (undefined when there is none). */
export function parseRegistration(xml: string): WorkerIdentity | undefined {
  const block = /<Registration\b[^>]*>([\s\S]*?)<\/Registration>/.exec(xml)?.[1];
  if (!block) return undefined;
  const text = (tag: string) => {
    const v = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(block)?.[1]?.trim();
    return v ? v.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : undefined;
  };
  const userId = text('uuid');
  const username = text('username');
  return userId && username ? { userId, username } : undefined;
}

const basic = (c: Credential) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** One worker's identity from a restore without fixtures; a refused login or a restore without Registration is one line. */
async function learnOne(t: ResolvedTarget, cred: Credential): Promise<WorkerIdentity> {
  const url = `${t.baseUrl}/a/${t.domain}/phone/restore/${t.appId ? `${t.appId}/` : ''}?version=2.0&skip_fixtures=true`;
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { headers: { Authorization: basic(cred), 'X-OpenRosa-Version': '3.0' }, signal: AbortSignal.timeout(120_000) });
    body = await res.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new UserError(`preflight failed: restore for mobile worker ${cred.username}: ${cause}`);
  }
  if (res.status !== 200) throw new UserError(`preflight failed: restore for mobile worker ${cred.username} answered ${res.status} (is the login right, and on domain ${t.domain}?)`);
  const id = parseRegistration(body);
  if (!id) throw new UserError(`preflight failed: the restore for mobile worker ${cred.username} has no Registration block with a uuid and username`);
  return id;
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
    if (other) throw new UserError(`the credentials ${other} and ${c.username} are the same mobile worker (${out[i]!.userId}): give one line per worker`);
    seen.set(out[i]!.userId, c.username);
  });
  return out;
}
