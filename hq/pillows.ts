// What each pillow does with a batch of changes: fetch the records from PostgreSQL (and the form XML from
// object storage) and write them in bulk, idempotently (documents by id, report rows by upsert).
import type { Client as EsClient, estypes } from '@elastic/elasticsearch';

type MappingProperty = estypes.MappingProperty;
import { XMLParser } from 'fast-xml-parser';
import type pg from 'pg';
import type { BlobStore } from './blobs.ts';
import type { CaseRow } from './model.ts';
import type { ChangeRecord } from './pillow-kafka.ts';

export interface PillowDeps {
  pool: pg.Pool;
  es: EsClient;
  blobs: BlobStore;
}

export interface PillowDefinition {
  checkpointId: string;
  topics: string[];
  setup(deps: PillowDeps): Promise<void>;
  handle(deps: PillowDeps, changes: ChangeRecord[]): Promise<void>;
}

const formXml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, trimValues: true });

const uniqueIds = (changes: ChangeRecord[]) => [...new Set(changes.map((c) => c.docId))];

/**
 * Creates the index if missing. Case properties and form answers are strings to HQ: dynamic mapping must not guess
 * dates or numbers from the first value seen (a later '' would then be rejected), so detection is off and
 * `properties.*` strings are keywords. An index made by an older version without that is rebuilt: dropped, and
 * the pillow's checkpoints reset so it reprocesses its topic (what HQ's ptop_reindexer does).
 */
async function ensureIndex(
  deps: Pick<PillowDeps, 'es' | 'pool'>,
  index: string,
  checkpointId: string,
  properties: Record<string, MappingProperty>,
): Promise<void> {
  const { es } = deps;
  if (await es.indices.exists({ index })) {
    const mapping = await es.indices.getMapping({ index });
    const current = Object.values(mapping)[0]?.mappings;
    // doc_id: the data API's tie-breaker when paging by indexed_on (ES does not sort on _id)
    if (current?.date_detection === false && current.properties?.doc_id) return;
    await es.indices.delete({ index });
    await deps.pool.query('update pillowtop_kafkacheckpoint set "offset" = 0, last_modified = now() where checkpoint_id = $1', [
      checkpointId,
    ]);
  }
  try {
    await es.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '1s', 'mapping.total_fields.limit': 5000 },
      mappings: {
        dynamic: true,
        date_detection: false,
        numeric_detection: false,
        dynamic_templates: [
          {
            case_properties: { path_match: 'properties.*', match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 2048 } },
          },
        ],
        properties,
      },
    });
  } catch (err) {
    if (!String((err as Error).message).includes('resource_already_exists')) throw err;
  }
}

/**
 * Writes in bulk. A document ES rejects for its content (4xx) is recorded in hq_pillow_error and skipped, as HQ
 * sends such changes to pillow_retry; anything else (ES down, overloaded) fails the batch so the checkpoint stays.
 */
async function bulk(deps: PillowDeps, pillowName: string, operations: object[]): Promise<void> {
  if (operations.length === 0) return;
  const res = await deps.es.bulk({ operations, refresh: false });
  if (!res.errors) return;
  const rejected: { id: string; error: string }[] = [];
  for (const item of res.items) {
    const r = Object.values(item)[0];
    if (!r?.error) continue;
    if (r.status === 404) continue; // deleting a document that was never indexed
    if (r.status >= 400 && r.status < 500 && r.status !== 429)
      rejected.push({ id: String(r._id), error: `${r.error.type}: ${r.error.reason}` });
    else throw new Error(`bulk write failed (${r.status}): ${r.error.type}: ${r.error.reason}`);
  }
  if (rejected.length) {
    await deps.pool.query(`insert into hq_pillow_error (pillow, doc_id, error) select $1, * from unnest($2::text[], $3::text[])`, [
      pillowName,
      rejected.map((r) => r.id),
      rejected.map((r) => r.error),
    ]);
  }
}

interface FormRow {
  form_id: string;
  domain: string;
  app_id: string | null;
  xmlns: string;
  user_id: string | null;
  received_on: string;
  state: number;
  blob_key: string;
  orig_id: string | null;
}

const DOC_TYPE: Record<number, string> = { 1: 'XFormInstance', 2: 'XFormError', 4: 'XFormDuplicate', 32: 'XFormDeprecated' };

export const xformPillow: PillowDefinition = {
  checkpointId: 'xform-pillow',
  topics: ['form-sql'],
  async setup(deps) {
    await ensureIndex(deps, 'xforms', 'xform-pillow', {
      doc_id: { type: 'keyword' },
      domain: { type: 'keyword' },
      xmlns: { type: 'keyword' },
      user_id: { type: 'keyword' },
      app_id: { type: 'keyword' },
      doc_type: { type: 'keyword' },
      received_on: { type: 'date' },
      inserted_at: { type: 'date' },
      // the form body is kept but not indexed field by field (HQ maps form data sparsely too)
      form: { type: 'object', enabled: false },
    });
  },
  async handle({ pool, es, blobs }, changes) {
    const ids = uniqueIds(changes);
    const rows = (
      await pool.query<FormRow>(
        `select form_id, domain, app_id, xmlns, user_id, received_on, state, blob_key, orig_id
       from form_processor_xforminstancesql where form_id = any($1)`,
        [ids],
      )
    ).rows;
    const found = new Map(rows.map((r) => [r.form_id, r]));
    const ops: object[] = [];
    const now = new Date().toISOString();
    const missing: { id: string; error: string }[] = [];
    await Promise.all(
      rows.map(async (r) => {
        let xml: Buffer;
        try {
          xml = await blobs.get(r.blob_key);
        } catch (err) {
          // A form whose blob is gone cannot be indexed, now or later: record it (HQ's pillow_retry; `capacity audit`
          // names it) and move on, rather than retrying forever and holding up every form behind it.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          missing.push({ id: r.form_id, error: `blob missing: ${r.blob_key}` });
          return;
        }
        const parsed = formXml.parse(xml.toString('utf8')) as Record<string, unknown>;
        const root = Object.entries(parsed).find(([k]) => !k.startsWith('?'))?.[1];
        ops.push(
          { index: { _index: 'xforms', _id: r.form_id } },
          {
            doc_id: r.form_id,
            domain: r.domain,
            xmlns: r.xmlns,
            user_id: r.user_id,
            app_id: r.app_id,
            received_on: r.received_on,
            doc_type: DOC_TYPE[r.state] ?? 'XFormInstance',
            orig_id: r.orig_id,
            inserted_at: now,
            form: root,
          },
        );
      }),
    );
    for (const id of ids) if (!found.has(id)) ops.push({ delete: { _index: 'xforms', _id: id } });
    if (missing.length) {
      await pool.query('insert into hq_pillow_error (pillow, doc_id, error) select $1, * from unnest($2::text[], $3::text[])', [
        'xform-pillow',
        missing.map((m) => m.id),
        missing.map((m) => m.error),
      ]);
    }
    await bulk({ pool, es, blobs }, 'xform-pillow', ops);
  },
};

export const casePillow: PillowDefinition = {
  checkpointId: 'case-pillow',
  topics: ['case-sql'],
  async setup(deps) {
    await ensureIndex(deps, 'hqcases', 'case-pillow', {
      doc_id: { type: 'keyword' },
      domain: { type: 'keyword' },
      type: { type: 'keyword' },
      owner_id: { type: 'keyword' },
      closed: { type: 'boolean' },
      name: { type: 'text', fields: { exact: { type: 'keyword' } } },
      opened_on: { type: 'date' },
      modified_on: { type: 'date' },
      server_modified_on: { type: 'date' },
      inserted_at: { type: 'date' },
      indices: {
        properties: { identifier: { type: 'keyword' }, referenced_id: { type: 'keyword' }, referenced_type: { type: 'keyword' } },
      },
    });
  },
  async handle(deps, changes) {
    const { pool } = deps;
    const ids = uniqueIds(changes);
    // The cases and their indices in one query.
    const rows = (
      await pool.query<CaseRow & { indices: object[] | null }>({
        name: 'hq-case-pillow-fetch',
        text: `select c.case_id, c.domain, c.type, c.name, c.owner_id, c.opened_on, c.modified_on, c.server_modified_on, c.closed,
          c.closed_on, c.external_id, c.case_json,
          (select jsonb_agg(jsonb_build_object('identifier', i.identifier, 'referenced_id', i.referenced_id,
             'referenced_type', i.referenced_type) order by i.id)
           from form_processor_commcarecaseindexsql i where i.case_id = c.case_id) as indices
        from form_processor_commcarecasesql c where c.case_id = any($1)`,
        values: [ids],
      })
    ).rows;
    const byCase = new Map<string, object[]>(rows.map((r) => [r.case_id, r.indices ?? []]));
    const now = new Date().toISOString();
    const ops: object[] = [];
    const found = new Set<string>();
    for (const r of rows) {
      found.add(r.case_id);
      ops.push(
        { index: { _index: 'hqcases', _id: r.case_id } },
        {
          doc_id: r.case_id,
          domain: r.domain,
          type: r.type,
          name: r.name,
          owner_id: r.owner_id,
          opened_on: r.opened_on,
          modified_on: r.modified_on,
          server_modified_on: r.server_modified_on,
          closed: r.closed,
          closed_on: r.closed_on,
          external_id: r.external_id,
          properties: r.case_json,
          indices: byCase.get(r.case_id) ?? [],
          inserted_at: now,
        },
      );
    }
    for (const id of ids) if (!found.has(id)) ops.push({ delete: { _index: 'hqcases', _id: id } });
    await bulk(deps, 'case-pillow', ops);
  },
};

export const ucrPillow: PillowDefinition = {
  checkpointId: 'ucr-pillow',
  topics: ['form-sql'],
  async setup() {},
  async handle({ pool }, changes) {
    const ids = uniqueIds(changes);
    // One statement: the report rows for the normal forms among the changes, upserted (idempotent on replay), and
    // the rows of forms that are no longer normal (deprecated by an edit) removed.
    await pool.query({
      name: 'hq-ucr-pillow',
      text: `with upserted as (
          insert into ucr_form_submissions (doc_id, domain, xmlns, user_id, received_on, case_count, inserted_at)
          select f.form_id, f.domain, f.xmlns, f.user_id, f.received_on,
                 (select count(*) from form_processor_casetransaction t where t.form_id = f.form_id), now()
          from form_processor_xforminstancesql f where f.form_id = any($1) and f.state = 1
          on conflict (doc_id) do update set xmlns = excluded.xmlns, user_id = excluded.user_id,
            case_count = excluded.case_count, inserted_at = excluded.inserted_at
        )
        delete from ucr_form_submissions u where u.doc_id = any($1)
          and not exists (select 1 from form_processor_xforminstancesql f where f.form_id = u.doc_id and f.state = 1)`,
      values: [ids],
    });
  },
};

export const pillows: Record<string, PillowDefinition> = {
  xform: xformPillow,
  case: casePillow,
  ucr: ucrPillow,
};
