// `capacity audit`: every acknowledged submission must be in PostgreSQL, its XML in object storage, and (once
// the pillows have caught up) its form and cases in Elasticsearch and its row in the UCR table.
import { Client as EsClient } from '@elastic/elasticsearch';
import type pg from 'pg';
import type { BlobStore } from './blobs.ts';
import { lagTotal, pillowLags, type PartitionLag } from './pillow-kafka.ts';
import type { RefusedSubmissions } from '../results-dir/index.ts';

export type { RefusedSubmissions };

export interface AuditInput {
  pool: pg.Pool;
  blobs: BlobStore;
  esUrl: string;
  kafkaBrokers: string[];
  /** Form ids the clients were given (X-CommCareHQ-FormID); all normal forms of the domain when absent. */
  acknowledged?: string[];
  domain?: string;
  /** How long to wait for the pillows to catch up before checking Elasticsearch. */
  waitMs?: number;
  progress?: (msg: string) => void;
  /** What the run's request log says the receiver refused (5xx, 4xx, no answer): never stored, so never seen here. */
  refused?: RefusedSubmissions;
}

export interface AuditReport {
  acknowledged: number;
  missingInPostgres: string[];
  missingBlobs: string[];
  missingInXforms: string[];
  missingCasesInHqcases: string[];
  missingInUcr: string[];
  pillowLag: number;
  /** Where the lag is, by pillow and partition (empty when there is none). */
  pillowLagAt: string;
  pillowErrors: number;
  /** From the run's request log, when the audit was given one. */
  refused?: RefusedSubmissions;
  ok: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Offset lag summed over HQ's pillows: topic end offsets minus pillowtop_kafkacheckpoint. */
export async function totalPillowLag(pool: pg.Pool, brokers: string[]): Promise<number> {
  return lagTotal(await pillowLags(pool, brokers));
}

/** Where the pillows are behind: "xform-pillow form-sql:2 61, ..." (nothing when they are not). */
export function describeLags(lags: PartitionLag[]): string {
  return lags
    .filter((l) => l.lag > 0)
    .map((l) => `${l.checkpointId} ${l.topic}:${l.partition} ${l.lag}`)
    .join(', ');
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function audit(input: AuditInput): Promise<AuditReport> {
  const { pool } = input;
  const say = input.progress ?? (() => undefined);
  let ids = input.acknowledged;
  if (!ids) {
    const res = await pool.query<{ form_id: string }>(
      `select form_id from form_processor_xforminstancesql where state = 1 ${input.domain ? 'and domain = $1' : ''}`,
      input.domain ? [input.domain] : [],
    );
    ids = res.rows.map((r) => r.form_id);
  }
  ids = [...new Set(ids)];
  say(`auditing ${ids.length} acknowledged forms`);

  const forms = new Map<string, { blob_key: string; state: number }>();
  for (const part of chunks(ids, 5000)) {
    const res = await pool.query<{ form_id: string; blob_key: string; state: number }>(
      'select form_id, blob_key, state from form_processor_xforminstancesql where form_id = any($1)',
      [part],
    );
    for (const r of res.rows) forms.set(r.form_id, r);
  }
  const missingInPostgres = ids.filter((id) => !forms.has(id));
  const missingBlobs: string[] = [];
  for (const part of chunks([...forms], 200)) {
    const exists = await Promise.all(part.map(([, f]) => input.blobs.exists(f.blob_key)));
    part.forEach(([id], i) => {
      if (!exists[i]) missingBlobs.push(id);
    });
  }

  // Wait for the pillows: the ES check means something only once every change has been processed.
  const deadline = Date.now() + (input.waitMs ?? 120_000);
  let lags = await pillowLags(pool, input.kafkaBrokers);
  let lag = lagTotal(lags);
  let outbox = Number((await pool.query('select count(*)::int as n from hq_change_outbox')).rows[0].n);
  while ((lag > 0 || outbox > 0) && Date.now() < deadline) {
    say(`waiting for the change feed: ${outbox} changes not yet published, pillow lag ${lag}`);
    await sleep(1000);
    lags = await pillowLags(pool, input.kafkaBrokers);
    lag = lagTotal(lags);
    outbox = Number((await pool.query('select count(*)::int as n from hq_change_outbox')).rows[0].n);
  }
  const es = new EsClient({ node: input.esUrl });
  await es.indices.refresh({ index: 'xforms,hqcases', ignore_unavailable: true });

  const normal = ids.filter((id) => forms.get(id)?.state === 1);
  const missingInXforms: string[] = [];
  for (const part of chunks(
    ids.filter((id) => forms.has(id)),
    1000,
  )) {
    const res = await es.mget({ index: 'xforms', ids: part, _source: false });
    res.docs.forEach((d, i) => {
      if (!('found' in d) || !d.found) missingInXforms.push(part[i]!);
    });
  }
  const caseIds = new Set<string>();
  for (const part of chunks(normal, 5000)) {
    const res = await pool.query<{ case_id: string }>(
      'select distinct case_id from form_processor_casetransaction where form_id = any($1)',
      [part],
    );
    for (const r of res.rows) caseIds.add(r.case_id);
  }
  const missingCasesInHqcases: string[] = [];
  for (const part of chunks([...caseIds], 1000)) {
    const res = await es.mget({ index: 'hqcases', ids: part, _source: false });
    res.docs.forEach((d, i) => {
      if (!('found' in d) || !d.found) missingCasesInHqcases.push(part[i]!);
    });
  }
  const ucr = new Set<string>();
  for (const part of chunks(normal, 5000)) {
    const res = await pool.query<{ doc_id: string }>('select doc_id from ucr_form_submissions where doc_id = any($1)', [part]);
    for (const r of res.rows) ucr.add(r.doc_id);
  }
  const missingInUcr = normal.filter((id) => !ucr.has(id));
  const pillowErrors = Number((await pool.query('select count(*)::int as n from hq_pillow_error')).rows[0].n);
  // "nothing lost" covers everything the phones sent: a refused form is not in HQ either (the phone still holds it)
  const ok =
    [missingInPostgres, missingBlobs, missingInXforms, missingCasesInHqcases, missingInUcr].every((l) => l.length === 0) &&
    !input.refused?.refused;
  return {
    acknowledged: ids.length,
    missingInPostgres,
    missingBlobs,
    missingInXforms,
    missingCasesInHqcases,
    missingInUcr,
    pillowLag: lag,
    pillowLagAt: describeLags(lags),
    pillowErrors,
    ...(input.refused ? { refused: input.refused } : {}),
    ok,
  };
}
