// One export's work, as a celery worker does it: read the cases or forms from PostgreSQL in batches (one snapshot,
// so the count and the rows agree), turn each into a row (a form's answers come from its XML in object storage),
// and stream them into an xlsx file that lands in object storage whole or not at all.
import fs from 'node:fs/promises';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { XMLParser } from 'fast-xml-parser';
import type pg from 'pg';
import type { BlobStore } from './blobs.ts';
import type { ExportTask } from './export-queue.ts';
import type { CaseRow } from './model.ts';

export const EXPORT_BATCH = Number(process.env.CAPACITY_EXPORT_BATCH ?? 1000);

export interface ExportResult {
  rows: number;
  blobKey: string;
  filename: string;
}

const CASE_COLUMNS = [
  'case_id',
  'case_type',
  'name',
  'owner_id',
  'opened_on',
  'opened_by',
  'modified_on',
  'server_modified_on',
  'closed',
  'closed_on',
  'external_id',
];
const FORM_COLUMNS = ['form_id', 'xmlns', 'app_id', 'user_id', 'received_on', 'time_start', 'time_end'];

const formXml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, removeNSPrefix: true });

/** A form's answers as `path -> text`, leaving out meta and case blocks (exported as columns of their own elsewhere). */
export function formAnswers(xml: string): Record<string, string> {
  const parsed = formXml.parse(xml) as Record<string, unknown>;
  const root = Object.entries(parsed).find(([k]) => !k.startsWith('?'))?.[1];
  const out: Record<string, string> = {};
  const walk = (v: unknown, at: string) => {
    if (v === null || v === undefined) return;
    if (typeof v !== 'object') {
      out[at] = String(v);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${at}.${i}`));
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === 'meta' || k === 'case' || k === 'balance' || k === 'transfer') continue;
      walk(x, at ? `${at}.${k}` : k);
    }
  };
  walk(root, '');
  return out;
}

type CaseExportRow = Pick<
  CaseRow,
  | 'case_id'
  | 'type'
  | 'name'
  | 'owner_id'
  | 'opened_on'
  | 'opened_by'
  | 'modified_on'
  | 'server_modified_on'
  | 'closed'
  | 'closed_on'
  | 'external_id'
  | 'case_json'
>;

interface FormExportRow {
  form_id: string;
  xmlns: string;
  app_id: string | null;
  user_id: string | null;
  received_on: string;
  time_start: string | null;
  time_end: string | null;
  blob_key: string;
}

/** Forms read from object storage at once: each XML and its parse live only while its group is read. */
export const FORM_READS = 32;

/** A batch of forms' rows: their fixed columns and their answers, read FORM_READS at a time. */
async function formRecords(blobs: BlobStore, batch: FormExportRow[]): Promise<{ fixed: unknown[]; extra: Record<string, string> }[]> {
  const out: { fixed: unknown[]; extra: Record<string, string> }[] = [];
  for (let i = 0; i < batch.length; i += FORM_READS) {
    const group = await Promise.all(
      batch.slice(i, i + FORM_READS).map(async (r) => ({
        fixed: [r.form_id, r.xmlns, r.app_id, r.user_id, r.received_on, r.time_start, r.time_end],
        extra: formAnswers((await blobs.get(r.blob_key)).toString('utf8')),
      })),
    );
    out.push(...group);
  }
  return out;
}

/**
 * Runs one export into `exports/<downloadId>.xlsx` in the blob store. `progress` is called after every batch with the
 * rows done and the total (its failure fails the export: the status must keep up).
 */
export async function writeExport(
  pool: pg.Pool,
  blobs: BlobStore,
  task: ExportTask,
  progress: (current: number, total: number) => Promise<void>,
): Promise<ExportResult> {
  const blobKey = `exports/${task.downloadId}.xlsx`;
  const file = blobs.pathOf(blobKey);
  await fs.mkdir(path.dirname(file), { recursive: true });
  // a file of this attempt's own: a redelivered copy of the task may be writing beside it
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const client = await pool.connect();
  let rows = 0;
  try {
    await client.query('begin isolation level repeatable read read only');
    const where =
      task.kind === 'case'
        ? {
            sql: `domain = $1 and not deleted${task.caseType ? ' and type = $2' : ''}`,
            values: task.caseType ? [task.domain, task.caseType] : [task.domain],
          }
        : {
            sql: `domain = $1 and state = 1${task.xmlns ? ' and xmlns = $2' : ''}`,
            values: task.xmlns ? [task.domain, task.xmlns] : [task.domain],
          };
    const table = task.kind === 'case' ? 'form_processor_commcarecasesql' : 'form_processor_xforminstancesql';
    const total = Number((await client.query(`select count(*)::int as n from ${table} where ${where.sql}`, where.values)).rows[0].n);
    await progress(0, total);
    const select =
      task.kind === 'case'
        ? `select case_id, type, name, owner_id, opened_on, opened_by, modified_on, server_modified_on, closed, closed_on, external_id, case_json
         from ${table} where ${where.sql} order by case_id`
        : `select form_id, xmlns, app_id, user_id, received_on, time_start, time_end, blob_key from ${table} where ${where.sql} order by received_on, form_id`;
    await client.query({ text: `declare export_rows no scroll cursor for ${select}`, values: where.values });

    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: tmp, useStyles: false, useSharedStrings: false });
    const sheet = workbook.addWorksheet(task.kind === 'case' ? 'Cases' : 'Forms');
    // The columns (HQ: the export configuration): the fixed ones and the properties or answers of the first batch;
    // anything a later row has beyond them goes into one JSON column.
    let extraKeys: string[] | undefined;
    for (;;) {
      const batch = (await client.query(`fetch ${EXPORT_BATCH} from export_rows`)).rows as (CaseExportRow | FormExportRow)[];
      if (batch.length === 0) break;
      const records =
        task.kind === 'case'
          ? (batch as CaseExportRow[]).map((r) => ({
              fixed: [
                r.case_id,
                r.type,
                r.name,
                r.owner_id,
                r.opened_on,
                r.opened_by,
                r.modified_on,
                r.server_modified_on,
                r.closed ? 'True' : 'False',
                r.closed_on,
                r.external_id,
              ],
              extra: r.case_json ?? {},
            }))
          : await formRecords(blobs, batch as FormExportRow[]);
      if (!extraKeys) {
        extraKeys = [...new Set(records.flatMap((r) => Object.keys(r.extra)))].sort().slice(0, 500);
        sheet.addRow([...(task.kind === 'case' ? CASE_COLUMNS : FORM_COLUMNS), ...extraKeys, 'other']).commit();
      }
      const known = new Set(extraKeys);
      for (const r of records) {
        const other = Object.fromEntries(Object.entries(r.extra).filter(([k]) => !known.has(k)));
        sheet
          .addRow([
            ...r.fixed.map((v) => v ?? ''),
            ...extraKeys.map((k) => r.extra[k] ?? ''),
            Object.keys(other).length ? JSON.stringify(other) : '',
          ])
          .commit();
      }
      rows += batch.length;
      await progress(rows, total);
    }
    if (!extraKeys) sheet.addRow(task.kind === 'case' ? CASE_COLUMNS : FORM_COLUMNS).commit();
    await client.query('commit');
    sheet.commit();
    await workbook.commit();
    // durable, then in place under its name in one step
    const fh = await fs.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    client.release();
  }
  return { rows, blobKey, filename: `${task.kind === 'case' ? 'Cases' : 'Forms'} ${task.domain} ${task.downloadId.slice(0, 8)}.xlsx` };
}
