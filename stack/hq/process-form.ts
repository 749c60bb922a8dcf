// One submission, processed as HQ does: blob written durably, then form, cases, case transactions, indices,
// ledgers and change records committed in one PostgreSQL transaction. Only then is the phone told 201.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { BlobStore } from './blobs.ts';
import { inTransaction } from './db.ts';
import { FORM_STATE, TX, type CaseChange, type FormToProcess, type LedgerChange } from './model.ts';

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

interface CaseRow {
  case_id: string;
  type: string;
  name: string | null;
  owner_id: string;
  opened_on: string | null;
  opened_by: string | null;
  closed: boolean;
  closed_on: string | null;
  closed_by: string | null;
  external_id: string | null;
  case_json: Record<string, string>;
  domain?: string;
  isNew: boolean;
}

const SPECIAL = new Set(['case_name', 'case_type', 'owner_id', 'external_id', 'date_opened']);

export async function processSubmission(pool: pg.Pool, blobs: BlobStore, sub: Submission): Promise<ProcessResult> {
  const md5 = createHash('md5').update(sub.xml).digest('hex');
  const now = new Date().toISOString();
  const instanceId = sub.form.instanceId;
  return inTransaction(pool, async (c) => {
    const existing = await c.query<{ xml_md5: string; state: number; domain: string }>(
      'select xml_md5, state, domain from form_processor_xforminstancesql where form_id = $1 for update',
      [instanceId],
    );
    let prev = existing.rows[0];
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
      await outbox(c, 'form-sql', deprecatedId, sub.domain, 'XFormDeprecated', sub.form.xmlns);
    }

    const blobDir = `${sub.domain}/${formId}-${md5.slice(0, 8)}`;
    await blobs.putAll(blobDir, [{ name: 'form.xml', data: sub.xml }, ...sub.attachments]);

    await c.query(
      `insert into form_processor_xforminstancesql (form_id, domain, app_id, xmlns, user_id, received_on, time_start,
         time_end, state, orig_id, deprecated_form_id, edited_on, xml_md5, xml_size, blob_key, attachment_count, server_modified_on)
       values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$6)`,
      [formId, sub.domain, sub.appId ?? null, sub.form.xmlns, sub.form.userId ?? sub.authUserId, now,
        validTime(sub.form.timeStart), validTime(sub.form.timeEnd), state, origId, deprecatedId,
        outcome === 'edit' ? now : null, md5, sub.xml.length, `${blobDir}/form.xml`, sub.attachments.length],
    );

    const caseIds: string[] = [];
    if (outcome !== 'duplicate') {
      const touched = await applyCases(c, sub, formId, now);
      caseIds.push(...touched);
      await applyLedgers(c, sub.domain, formId, now, sub.form.ledgers);
      for (const id of touched) await outbox(c, 'case-sql', id, sub.domain, 'CommCareCase', '');
    }
    await outbox(c, 'form-sql', formId, sub.domain, outcome === 'duplicate' ? 'XFormDuplicate' : 'XFormInstance', sub.form.xmlns);
    return { formId, outcome, caseIds };
  });
}

function validTime(s: string | undefined): string | null {
  if (!s) return null;
  return Number.isNaN(Date.parse(s)) ? null : s;
}

async function outbox(c: pg.PoolClient, topic: string, docId: string, domain: string, docType: string, subtype: string) {
  await c.query('insert into hq_change_outbox (topic, doc_id, payload) values ($1, $2, $3)', [
    topic,
    docId,
    { document_id: docId, data_source_type: 'sql', data_source_name: topic, document_type: docType,
      document_subtype: subtype, domain, is_deletion: false },
  ]);
}

async function applyCases(c: pg.PoolClient, sub: Submission, formId: string, now: string): Promise<string[]> {
  const rows = new Map<string, CaseRow>();
  const txTypes = new Map<string, number>();
  const modified = new Map<string, { on: string; by: string }>();
  const ids = [...new Set(sub.form.cases.map((b) => b.caseId))];
  if (ids.length === 0) return [];
  // Lock in a stable order so concurrent forms touching the same cases cannot deadlock.
  const found = await c.query(
    `select case_id, domain, type, name, owner_id, opened_on, opened_by, closed, closed_on, closed_by, external_id, case_json
     from form_processor_commcarecasesql where case_id = any($1) order by case_id for update`,
    [ids],
  );
  for (const r of found.rows) rows.set(r.case_id, { ...r, isNew: false });
  const userId = sub.form.userId ?? sub.authUserId;
  const indexChanges: { caseId: string; change: CaseChange['indices'][number] }[] = [];
  for (const block of sub.form.cases) {
    let row = rows.get(block.caseId);
    if (!row) {
      row = { case_id: block.caseId, type: '', name: null, owner_id: '', opened_on: null, opened_by: null, closed: false,
        closed_on: null, closed_by: null, external_id: null, case_json: {}, isNew: true };
      rows.set(block.caseId, row);
    }
    let tx = (txTypes.get(block.caseId) ?? 0) | TX.form;
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
    for (const change of block.indices) indexChanges.push({ caseId: block.caseId, change });
    if (block.close) {
      tx |= TX.close;
      row.closed = true;
      row.closed_on = on;
      row.closed_by = block.userId ?? userId;
    }
    if (!row.owner_id) row.owner_id = block.userId ?? userId;
    txTypes.set(block.caseId, tx);
    modified.set(block.caseId, { on, by: block.userId ?? userId });
  }
  for (const row of rows.values()) {
    const m = modified.get(row.case_id)!;
    const values = [row.case_id, row.domain ?? sub.domain, row.type, row.name, row.owner_id, row.opened_on, row.opened_by, m.on, m.by, now,
      row.closed, row.closed_on, row.closed_by, row.external_id, row.case_json];
    if (row.isNew) {
      await c.query(
        `insert into form_processor_commcarecasesql (case_id, domain, type, name, owner_id, opened_on, opened_by, modified_on,
           modified_by, server_modified_on, closed, closed_on, closed_by, external_id, case_json)
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
        values,
      );
    } else {
      await c.query(
        `update form_processor_commcarecasesql set domain=$2, type=$3, name=$4, owner_id=$5, opened_on=$6, opened_by=$7,
           modified_on=$8, modified_by=$9, server_modified_on=$10, closed=$11, closed_on=$12, closed_by=$13,
           external_id=$14, case_json=$15 where case_id=$1`,
        values,
      );
    }
  }
  for (const { caseId, change } of indexChanges) {
    if (change.referencedId === '') {
      await c.query('delete from form_processor_commcarecaseindexsql where case_id = $1 and identifier = $2', [caseId, change.identifier]);
    } else {
      await c.query(
        `insert into form_processor_commcarecaseindexsql (domain, case_id, identifier, referenced_id, referenced_type, relationship_id)
         values ($1,$2,$3,$4,$5,$6) on conflict (case_id, identifier) do update set referenced_id = excluded.referenced_id,
           referenced_type = excluded.referenced_type, relationship_id = excluded.relationship_id`,
        [sub.domain, caseId, change.identifier, change.referencedId, change.caseType, change.relationship === 'extension' ? 2 : 1],
      );
    }
  }
  for (const [caseId, type] of txTypes) {
    await c.query(
      `insert into form_processor_casetransaction (case_id, form_id, server_date, type) values ($1,$2,$3,$4)
       on conflict (case_id, form_id) do update set type = form_processor_casetransaction.type | excluded.type, revoked = false`,
      [caseId, formId, now, type],
    );
  }
  return [...rows.keys()];
}

async function applyLedgers(c: pg.PoolClient, domain: string, formId: string, now: string, ledgers: LedgerChange[]) {
  for (const l of ledgers) {
    for (const e of l.entries) {
      if (l.kind === 'balance') {
        await upsertBalance(c, domain, l.entityId, l.sectionId, e.id, e.quantity, false, now, formId);
      } else {
        if (l.src) await upsertBalance(c, domain, l.src, l.sectionId, e.id, -e.quantity, true, now, formId);
        if (l.dest) await upsertBalance(c, domain, l.dest, l.sectionId, e.id, e.quantity, true, now, formId);
      }
    }
  }
}

async function upsertBalance(c: pg.PoolClient, domain: string, caseId: string, section: string, entry: string, qty: number,
  delta: boolean, now: string, formId: string) {
  await c.query(
    `insert into form_processor_ledgervalue (domain, case_id, section_id, entry_id, balance, last_modified, last_modified_form_id)
     values ($1,$2,$3,$4,$5,$6,$7) on conflict (case_id, section_id, entry_id) do update set
       balance = ${delta ? 'form_processor_ledgervalue.balance + excluded.balance' : 'excluded.balance'},
       last_modified = excluded.last_modified, last_modified_form_id = excluded.last_modified_form_id`,
    [domain, caseId, section, entry, qty, now, formId],
  );
}
