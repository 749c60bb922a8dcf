// A browser's and an API client's side of exports and the data API, for integration tests and benchmarks: request
// an export, poll it as the export page does, download the file; fetch one page of a data API list.
import type pg from 'pg';
import { createApiKey, ensureWebUser } from '../../hq/index.ts';

export interface PollStatus {
  is_ready: boolean;
  state: string;
  progress: { current: number; total: number; percent: number; error: boolean; error_message: string };
  download_url: string | null;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function requestExport(base: string, domain: string, auth: string, kind: 'case' | 'form'): Promise<string> {
  const res = await fetch(`${base}/a/${domain}/data/export/custom/prepare_custom_export/`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model_type: kind }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`prepare ${kind} export: ${res.status} ${body}`);
  return (JSON.parse(body) as { download_id: string }).download_id;
}

export async function pollExport(base: string, domain: string, auth: string, id: string): Promise<PollStatus> {
  const res = await fetch(`${base}/a/${domain}/data/export/custom/poll_custom_export_download/?download_id=${id}`, {
    headers: { Authorization: auth },
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`poll ${id}: ${res.status} ${body}`);
  return JSON.parse(body) as PollStatus;
}

/** Requests an export, polls it until ready (every pollMs, as the export page does) and downloads it. */
export async function exportAndDownload(
  base: string,
  domain: string,
  auth: string,
  kind: 'case' | 'form',
  opts: { pollMs?: number; timeoutMs?: number } = {},
) {
  const t0 = Date.now();
  const id = await requestExport(base, domain, auth, kind);
  let polls = 0;
  const status = await waitFor(
    `${kind} export ${id}`,
    async () => {
      polls++;
      const s = await pollExport(base, domain, auth, id);
      if (s.progress.error) throw new Error(`export ${id} failed: ${s.progress.error_message}`);
      return s.is_ready ? s : undefined;
    },
    opts.timeoutMs ?? 300_000,
    opts.pollMs ?? 1000,
  );
  const res = await fetch(`${base}${status.download_url}`, { headers: { Authorization: auth } });
  if (res.status !== 200) throw new Error(`download ${id}: ${res.status}`);
  const file = Buffer.from(await res.arrayBuffer());
  return { id, file, polls, status, elapsedMs: Date.now() - t0 };
}

export interface ApiPage {
  meta: { limit: number; next: string | null; offset: number; previous: string | null; total_count: number };
  objects: { id: string; indexed_on: string }[];
  /** the next page's path, absolute on the same list */
  next?: string;
  ms: number;
}

/** One page of a data API list; `path` is a list path with its query, or the list path plus HQ's `next` query. */
export async function apiPages(base: string, path: string, auth: string, attempts = 3): Promise<ApiPage> {
  for (let i = 1; ; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, { headers: { Authorization: auth } });
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status === 200) {
      const page = JSON.parse(text) as ApiPage;
      const listPath = path.split('?')[0]!;
      return { ...page, next: page.meta.next ? `${listPath}${page.meta.next}` : undefined, ms };
    }
    if (i >= attempts) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 200)}`);
  }
}

/** A web user of its own for a test domain: basic auth for the export pages, an API key for the data API. */
export async function testWebUser(pool: pg.Pool, domain: string) {
  const username = `admin@${domain}.example.org`;
  const password = 'pw-admin';
  await ensureWebUser(pool, domain, { username, password });
  const apiKey = await createApiKey(pool, username, 'test');
  return { username, basic: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`, apiKey: `ApiKey ${username}:${apiKey}` };
}

/** `n` cases written straight into the case table (no pillow needed to export them): enough for an export to take time. */
export async function insertCases(pool: pg.Pool, domain: string, n: number): Promise<void> {
  await pool.query(
    `insert into form_processor_commcarecasesql (case_id, domain, type, name, owner_id, opened_on, modified_on, case_json)
     select $1 || '-' || g, $1, 'household', 'case ' || g, 'owner-' || (g % 50), now(), now(),
            jsonb_build_object('village', 'v' || (g % 300), 'size', (g % 9)::text, 'visit', 'yes', 'hh_head', 'name ' || g)
     from generate_series(1, $2) g`,
    [domain, n],
  );
}
