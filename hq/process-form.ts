// One submission, processed as HQ does: blob written durably, then form, cases, case transactions, indices,
// ledgers and change records committed in one PostgreSQL transaction. Only then is the phone told 201.
// Two round trips per form: begin + one statement that locks and reads the form and its cases (in case id order,
// so concurrent forms touching the same cases cannot deadlock); then, after the case logic in TypeScript and the
// blob write, one statement that writes everything (multi-row unnest in data-modifying CTEs) + commit.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { BlobStore } from './blobs.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';
import { pipeline } from './pipeline.ts';
import { FORM_STATE, TX, type CaseChange, type CaseRow, type FormToProcess, type LedgerChange } from './model.ts';

export interface Submission {
  domain: string;
  appId?: string;
  authUserId: string;
  xml: Buffer;
  form: FormToProcess;
  attachments: { name: string; data: Buffer }[];
}

export interface ProcessResult {
  formId: string;
  outcome: 'normal' | 'duplicate' | 'edit';
  caseIds: string[];
}

/** A case being written: as read back (or new, then without the server's columns yet). */
type WorkingCase = Omit<CaseRow, 'domain' | 'modified_on' | 'modified_by' | 'server_modified_on'> & { domain?: string; isNew: boolean };

const SPECIAL = new Set(['case_name', 'case_type', 'owner_id', 'external_id', 'date_opened']);

export async function processSubmission(pool: pg.Pool, blobs: BlobStore, sub: Submission): Promise<ProcessResult> {
  const md5 = createHash('md5').update(sub.xml).digest('hex');
  const now = new Date().toISOString();
  const instanceId = sub.form.instanceId;
  const caseIds = [...new Set(sub.form.cases.map((b) => b.caseId))];
  const c = await pool.connect();
  try {
    // begin and the locking read in one round trip
    const [, lockRes] = await pipeline(c, [{ text: 'begin' }, { name: 'hq-form-lock', text: LOCK_SQL, values: [instanceId, caseIds] }]);
    const locked = lockRes!.rows[0] as { form: { xml_md5: string; state: number; domain: string } | null; cases: WorkingCase[] };
    let prev = locked.form ?? undefined;
    let formId = instanceId;
    if (prev && prev.domain !== sub.domain) {
      // An id already used in another project space: HQ gives the new form an id of its own.
      formId = randomUUID();
      prev = undefined;
    }
    let outcome: ProcessResult['outcome'] = 'normal';
    let state: number = FORM_STATE.normal;
    let origId: string | null = null;
    let deprecatedId: string | null = null;
    const w = new Writes();
    if (prev && prev.xml_md5 === md5) {
      // Identical resubmission: kept as a duplicate under a new id, cases untouched, still a 201.
      outcome = 'duplicate';
      formId = randomUUID();
      state = FORM_STATE.duplicate;
      origId = instanceId;
    } else if (prev) {
      // Same instanceID, new content: an edit. The old version moves to a new id and is deprecated.
      outcome = 'edit';
      deprecatedId = randomUUID();
      await c.query(
        `update form_processor_xforminstancesql set form_id = $2, state = $3, orig_id = $1, server_modified_on = $4
         where form_id = $1`,
        [instanceId, deprecatedId, FORM_STATE.deprecated, now],
      );
      await c.query('update form_processor_casetransaction set form_id = $2, revoked = true where form_id = $1', [
        instanceId,
        deprecatedId,
      ]);
      w.outbox('form-sql', deprecatedId, sub.domain, 'XFormDeprecated', sub.form.xmlns);
    }

    // <domain>/<2 hex of the md5>/<form id>-<md5 prefix>.form.xml (+ .<attachment name>): files in shared directories
    const [blobKey] = await blobs.putFlat(`${sub.domain}/${md5.slice(0, 2)}`, `${blobBase(formId)}-${md5.slice(0, 8)}`, [
      { name: 'form.xml', data: sub.xml },
      ...sub.attachments,
    ]);

    const touched: string[] = [];
    if (outcome !== 'duplicate') {
      touched.push(...applyCases(w, sub, locked.cases, now));
      applyLedgers(w, sub.form.ledgers);
      for (const id of touched) w.outbox('case-sql', id, sub.domain, 'CommCareCase', '');
    }
    w.outbox('form-sql', formId, sub.domain, outcome === 'duplicate' ? 'XFormDuplicate' : 'XFormInstance', sub.form.xmlns);
    // everything the form writes, and commit, in one round trip; the 201 is sent only after this resolves
    await pipeline(c, [
      {
        name: 'hq-form-write',
        text: WRITE_SQL,
        values: [
          formId,
          sub.domain,
          sub.appId ?? null,
          sub.form.xmlns,
          sub.form.userId ?? sub.authUserId,
          now,
          validTime(sub.form.timeStart),
          validTime(sub.form.timeEnd),
          state,
          origId,
          deprecatedId,
          outcome === 'edit' ? now : null,
          md5,
          sub.xml.length,
          blobKey,
          sub.attachments.length,
          ...w.params(),
        ],
      },
      { text: 'commit' },
    ]);
    return { formId, outcome, caseIds: touched };
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * The form id as the start of a file name. The instanceID is the phone's to choose (HQ keys its blobs by a random id
 * and keeps any instanceID): one with "/", "..", or of any length must not reach the path as it is.
 */
export function blobBase(formId: string): string {
  return /^[\w-]{1,64}$/.test(formId) ? formId : `h${createHash('sha256').update(formId).digest('hex').slice(0, 40)}`;
}

/**
 * A timestamp PostgreSQL will accept, or null. Date.parse alone lets impossible dates through (2024-02-30 rolls over
 * to March), which PostgreSQL then rejects: the form would fail with a 500 on every retry.
 */
export function validTime(s: string | undefined): string | null {
  if (!s) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?/.exec(s.trim());
  if (!m || Number.isNaN(Date.parse(s))) return null;
  const [y, mo, d, h = '0', mi = '0', se = '0'] = m.slice(1).map((v) => v ?? '0') as string[];
  const days = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(y) < 1 || Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > days) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59) return null;
  return s;
}

const LOCK_SQL = `
with f as materialized (
  select xml_md5, state, domain from form_processor_xforminstancesql where form_id = $1 for update
), c as materialized (
  select case_id, domain, type, name, owner_id, opened_on, opened_by, closed, closed_on, closed_by, external_id, case_json
  from form_processor_commcarecasesql where case_id = any($2::text[]) order by case_id for update
)
select (select to_jsonb(f) from f) as form, (select coalesce(jsonb_agg(to_jsonb(c) order by c.case_id), '[]'::jsonb) from c) as cases`;

// $1..$16 the form; then the arrays of Writes.params(), in that order.
const CASE_COLS = `unnest($17::text[], $18::text[], $19::text[], $20::text[], $21::timestamptz[], $22::text[], $23::timestamptz[],
    $24::text[], $25::boolean[], $26::timestamptz[], $27::text[], $28::text[], $29::text[], $30::boolean[])
  as u(case_id, type, name, owner_id, opened_on, opened_by, modified_on, modified_by, closed, closed_on, closed_by, external_id,
    case_json, is_new)`;
const WRITE_SQL = `
with form as (
  insert into form_processor_xforminstancesql (form_id, domain, app_id, xmlns, user_id, received_on, time_start, time_end, state,
    orig_id, deprecated_form_id, edited_on, xml_md5, xml_size, blob_key, attachment_count, server_modified_on)
  values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$6)
), new_cases as (
  insert into form_processor_commcarecasesql (case_id, domain, type, name, owner_id, opened_on, opened_by, modified_on,
    modified_by, server_modified_on, closed, closed_on, closed_by, external_id, case_json)
  select u.case_id, $2, u.type, u.name, u.owner_id, u.opened_on, u.opened_by, u.modified_on, u.modified_by, $6, u.closed,
    u.closed_on, u.closed_by, u.external_id, u.case_json::jsonb
  from ${CASE_COLS} where u.is_new
), updated_cases as (
  update form_processor_commcarecasesql c set type = u.type, name = u.name, owner_id = u.owner_id,
    opened_on = u.opened_on, opened_by = u.opened_by, modified_on = u.modified_on, modified_by = u.modified_by,
    server_modified_on = $6, closed = u.closed, closed_on = u.closed_on, closed_by = u.closed_by, external_id = u.external_id,
    case_json = u.case_json::jsonb
  from ${CASE_COLS} where not u.is_new and c.case_id = u.case_id
), removed_indices as (
  delete from form_processor_commcarecaseindexsql i using unnest($31::text[], $32::text[]) as d(case_id, identifier)
  where i.case_id = d.case_id and i.identifier = d.identifier
), indices as (
  insert into form_processor_commcarecaseindexsql (domain, case_id, identifier, referenced_id, referenced_type, relationship_id)
  select $2, x.* from unnest($33::text[], $34::text[], $35::text[], $36::text[], $37::integer[]) as x
  on conflict (case_id, identifier) do update set referenced_id = excluded.referenced_id,
    referenced_type = excluded.referenced_type, relationship_id = excluded.relationship_id
), transactions as (
  insert into form_processor_casetransaction (case_id, form_id, server_date, type)
  select t.case_id, $1, $6, t.type from unnest($38::text[], $39::integer[]) as t(case_id, type)
  on conflict (case_id, form_id) do update set type = form_processor_casetransaction.type | excluded.type, revoked = false
), balances as (
  insert into form_processor_ledgervalue (domain, case_id, section_id, entry_id, balance, last_modified, last_modified_form_id)
  select $2, l.case_id, l.section_id, l.entry_id, sum(l.q), $6, $1
  from unnest($40::text[], $41::text[], $42::text[], $43::numeric[]) as l(case_id, section_id, entry_id, q)
  group by l.case_id, l.section_id, l.entry_id
  on conflict (case_id, section_id, entry_id) do update set balance = excluded.balance,
    last_modified = excluded.last_modified, last_modified_form_id = excluded.last_modified_form_id
), deltas as (
  insert into form_processor_ledgervalue (domain, case_id, section_id, entry_id, balance, last_modified, last_modified_form_id)
  select $2, l.case_id, l.section_id, l.entry_id, sum(l.q), $6, $1
  from unnest($44::text[], $45::text[], $46::text[], $47::numeric[]) as l(case_id, section_id, entry_id, q)
  group by l.case_id, l.section_id, l.entry_id
  on conflict (case_id, section_id, entry_id) do update set balance = form_processor_ledgervalue.balance + excluded.balance,
    last_modified = excluded.last_modified, last_modified_form_id = excluded.last_modified_form_id
), changes as (
  insert into hq_change_outbox (topic, doc_id, payload)
  select o.topic, o.doc_id, o.payload::jsonb from unnest($48::text[], $49::text[], $50::text[]) with ordinality as o(topic, doc_id, payload, n)
  order by o.n
)
select pg_notify('${OUTBOX_CHANNEL}', '')`;

/** The rows one form writes, gathered as column arrays for WRITE_SQL. */
class Writes {
  readonly cases: WorkingCase[] = [];
  readonly modified = new Map<string, { on: string; by: string }>();
  /** Final index change per (case, identifier): '' referenced id removes it. */
  readonly indices = new Map<string, { caseId: string; change: CaseChange['indices'][number] }>();
  readonly txTypes = new Map<string, number>();
  /** Ledger rows per (case, section, entry): absolute (a balance, plus later transfers) or a delta. */
  readonly ledgers = new Map<string, { caseId: string; section: string; entry: string; absolute: boolean; parts: number[] }>();
  private readonly changes: [string[], string[], string[]] = [[], [], []];

  outbox(topic: string, docId: string, domain: string, docType: string, subtype: string): void {
    this.changes[0].push(topic);
    this.changes[1].push(docId);
    this.changes[2].push(
      JSON.stringify({
        document_id: docId,
        data_source_type: 'sql',
        data_source_name: topic,
        document_type: docType,
        document_subtype: subtype,
        domain,
        is_deletion: false,
      }),
    );
  }

  ledger(caseId: string, section: string, entry: string, qty: number, delta: boolean): void {
    const key = `${caseId}\0${section}\0${entry}`;
    const cur = this.ledgers.get(key);
    if (!delta || !cur) this.ledgers.set(key, { caseId, section, entry, absolute: !delta, parts: [qty] });
    else cur.parts.push(qty);
  }

  params(): unknown[] {
    const rows = this.cases;
    const m = (r: WorkingCase) => this.modified.get(r.case_id)!;
    const removed = [...this.indices.values()].filter((i) => i.change.referencedId === '');
    const set = [...this.indices.values()].filter((i) => i.change.referencedId !== '');
    const ledgerCols = (absolute: boolean) => {
      const cols: [string[], string[], string[], number[]] = [[], [], [], []];
      for (const l of this.ledgers.values()) {
        if (l.absolute !== absolute) continue;
        for (const q of l.parts) {
          cols[0].push(l.caseId);
          cols[1].push(l.section);
          cols[2].push(l.entry);
          cols[3].push(q);
        }
      }
      return cols;
    };
    return [
      rows.map((r) => r.case_id),
      rows.map((r) => r.type),
      rows.map((r) => r.name),
      rows.map((r) => r.owner_id),
      rows.map((r) => r.opened_on),
      rows.map((r) => r.opened_by),
      rows.map((r) => m(r).on),
      rows.map((r) => m(r).by),
      rows.map((r) => r.closed),
      rows.map((r) => r.closed_on),
      rows.map((r) => r.closed_by),
      rows.map((r) => r.external_id),
      rows.map((r) => JSON.stringify(r.case_json)),
      rows.map((r) => r.isNew),
      removed.map((i) => i.caseId),
      removed.map((i) => i.change.identifier),
      set.map((i) => i.caseId),
      set.map((i) => i.change.identifier),
      set.map((i) => i.change.referencedId),
      set.map((i) => i.change.caseType),
      set.map((i) => (i.change.relationship === 'extension' ? 2 : 1)),
      [...this.txTypes.keys()],
      [...this.txTypes.values()],
      ...ledgerCols(true),
      ...ledgerCols(false),
      ...this.changes,
    ];
  }
}

/** Applies the form's case blocks, in order, to the locked rows (or new ones); returns the case ids touched. */
function applyCases(w: Writes, sub: Submission, found: WorkingCase[], now: string): string[] {
  const rows = new Map<string, WorkingCase>();
  if (sub.form.cases.length === 0) return [];
  for (const r of found) rows.set(r.case_id, { ...r, isNew: false });
  const userId = sub.form.userId ?? sub.authUserId;
  for (const block of sub.form.cases) {
    let row = rows.get(block.caseId);
    if (!row) {
      row = {
        case_id: block.caseId,
        type: '',
        name: null,
        owner_id: '',
        opened_on: null,
        opened_by: null,
        closed: false,
        closed_on: null,
        closed_by: null,
        external_id: null,
        case_json: {},
        isNew: true,
      };
      rows.set(block.caseId, row);
    }
    let tx = (w.txTypes.get(block.caseId) ?? 0) | TX.form;
    const on = validTime(block.dateModified) ?? now;
    if (block.create) {
      tx |= TX.create;
      if (block.create.caseType !== undefined) row.type = block.create.caseType;
      if (block.create.caseName !== undefined) row.name = block.create.caseName;
      row.owner_id = block.create.ownerId || row.owner_id || block.userId || userId;
      row.opened_on ??= on;
      row.opened_by ??= block.userId ?? userId;
    }
    for (const [k, v] of Object.entries(block.update)) {
      if (k === 'case_name') row.name = v;
      else if (k === 'case_type') row.type = v;
      else if (k === 'owner_id') row.owner_id = v;
      else if (k === 'external_id') row.external_id = v;
      else if (k === 'date_opened') row.opened_on = validTime(v) ?? row.opened_on;
      if (!SPECIAL.has(k)) row.case_json[k] = v;
    }
    if (block.indices.length) tx |= TX.index;
    for (const change of block.indices) {
      // Later changes to the same index win (as if applied one after another).
      const key = `${block.caseId}\0${change.identifier}`;
      w.indices.delete(key);
      w.indices.set(key, { caseId: block.caseId, change });
    }
    if (block.close) {
      tx |= TX.close;
      row.closed = true;
      row.closed_on = on;
      row.closed_by = block.userId ?? userId;
    }
    if (!row.owner_id) row.owner_id = block.userId ?? userId;
    w.txTypes.set(block.caseId, tx);
    w.modified.set(block.caseId, { on, by: block.userId ?? userId });
  }
  w.cases.push(...rows.values());
  return [...rows.keys()];
}

function applyLedgers(w: Writes, ledgers: LedgerChange[]): void {
  for (const l of ledgers) {
    for (const e of l.entries) {
      if (l.kind === 'balance') {
        w.ledger(l.entityId, l.sectionId, e.id, e.quantity, false);
      } else {
        if (l.src) w.ledger(l.src, l.sectionId, e.id, -e.quantity, true);
        if (l.dest) w.ledger(l.dest, l.sectionId, e.id, e.quantity, true);
      }
    }
  }
}
