// OTA restore as HQ serves it: a sync token (restore_id) per restore, a Registration block, fixtures and one
// case block per case the worker owns; with `since`, only the cases changed since that sync. Cost grows
// with the case count because every case is read and serialised, as in HQ.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CaseRow } from './model.ts';
import { escapeXml, OPENROSA_NS } from './openrosa.ts';
import type { AuthenticatedUser } from './users.ts';

export interface RestoreParams {
  since?: string;
  deviceId?: string;
  items: boolean;
  skipFixtures: boolean;
}

export type RestoreResult = { status: 200; body: string; restoreId: string; caseCount: number } | { status: 412; body: string };

/** The columns a restore selects. */
type RestoreCase = Pick<
  CaseRow,
  'case_id' | 'type' | 'name' | 'owner_id' | 'opened_on' | 'modified_on' | 'modified_by' | 'closed' | 'external_id' | 'case_json'
>;

interface IndexRow {
  case_id: string;
  identifier: string;
  referenced_id: string;
  referenced_type: string;
  relationship_id: number;
}

const CASE_NS = 'http://commcarehq.org/case/transaction/v2';
const tagOk = (k: string) => /^[A-Za-z_][\w.-]*$/.test(k);

function caseXml(c: RestoreCase, indices: IndexRow[]): string {
  const props = Object.entries(c.case_json)
    .filter(([k]) => tagOk(k))
    .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
    .join('');
  const ext = c.external_id ? `<external_id>${escapeXml(c.external_id)}</external_id>` : '';
  const opened = c.opened_on ? `<date_opened>${escapeXml(c.opened_on.slice(0, 10))}</date_opened>` : '';
  const idx = indices.length
    ? `<index>${indices
        .filter((i) => tagOk(i.identifier))
        .map(
          (i) =>
            `<${i.identifier} case_type="${escapeXml(i.referenced_type)}"${i.relationship_id === 2 ? ' relationship="extension"' : ''}>${escapeXml(i.referenced_id)}</${i.identifier}>`,
        )
        .join('')}</index>`
    : '';
  const close = c.closed ? '<close/>' : '';
  return `<case xmlns="${CASE_NS}" case_id="${escapeXml(c.case_id)}" date_modified="${escapeXml(c.modified_on)}" user_id="${escapeXml(c.modified_by ?? '')}"><create><case_type>${escapeXml(c.type)}</case_type><case_name>${escapeXml(c.name ?? '')}</case_name><owner_id>${escapeXml(c.owner_id)}</owner_id></create><update>${opened}${ext}${props}</update>${idx}${close}</case>`;
}

export async function buildRestore(pool: pg.Pool, user: AuthenticatedUser, params: RestoreParams): Promise<RestoreResult> {
  // The sync's date is taken before reading cases, so a change committed during the restore is sent next time.
  const syncDate = new Date().toISOString();
  let since: { date: string } | undefined;
  if (params.since) {
    const res = await pool.query<{ date: string }>('select date from phone_synclogsql where synclog_id = $1 and user_id = $2', [
      params.since,
      user.userId,
    ]);
    since = res.rows[0];
    if (!since) {
      return {
        status: 412,
        body: `<OpenRosaResponse xmlns="${OPENROSA_NS}"><message nature="ota_restore_error">Invalid restore token. Please sync again.</message></OpenRosaResponse>`,
      };
    }
  }
  const cases = since
    ? await pool.query<RestoreCase>(
        `select case_id, type, name, owner_id, opened_on, modified_on, modified_by, closed, external_id, case_json
         from form_processor_commcarecasesql where domain = $1 and owner_id = $2 and server_modified_on > $3 and not deleted`,
        [user.domain, user.userId, since.date],
      )
    : await pool.query<RestoreCase>(
        `select case_id, type, name, owner_id, opened_on, modified_on, modified_by, closed, external_id, case_json
         from form_processor_commcarecasesql where domain = $1 and owner_id = $2 and not closed and not deleted`,
        [user.domain, user.userId],
      );
  const ids = cases.rows.map((r) => r.case_id);
  const indexRows = ids.length
    ? (
        await pool.query<IndexRow>(
          'select case_id, identifier, referenced_id, referenced_type, relationship_id from form_processor_commcarecaseindexsql where case_id = any($1)',
          [ids],
        )
      ).rows
    : [];
  const byCase = new Map<string, IndexRow[]>();
  for (const r of indexRows) byCase.set(r.case_id, [...(byCase.get(r.case_id) ?? []), r]);

  const restoreId = randomUUID().replaceAll('-', '');
  await pool.query(
    `insert into phone_synclogsql (synclog_id, domain, user_id, device_id, date, previous_synclog_id, case_count, doc)
     values ($1,$2,$3,$4,$5,$6,$7,$8)`,
    [
      restoreId,
      user.domain,
      user.userId,
      params.deviceId ?? null,
      syncDate,
      params.since ?? null,
      ids.length,
      { log_format: since ? 'incremental' : 'full', case_ids_on_phone_count: ids.length },
    ],
  );

  const parts: string[] = [];
  const items = params.items ? ` items="${ids.length + 1 + (params.skipFixtures ? 0 : 1)}"` : '';
  parts.push(`<OpenRosaResponse xmlns="${OPENROSA_NS}"${items}>`);
  parts.push(`<message nature="ota_restore_success">Successfully restored account ${escapeXml(user.username.split('@')[0]!)}!</message>`);
  parts.push(`<Sync xmlns="http://commcarehq.org/sync"><restore_id>${restoreId}</restore_id></Sync>`);
  parts.push(
    `<Registration xmlns="http://openrosa.org/user/registration"><username>${escapeXml(user.username.split('@')[0]!)}</username>` +
      `<password>sha256$redacted</password><uuid>${escapeXml(user.userId)}</uuid><date>${syncDate.slice(0, 10)}</date>` +
      `<user_data><data key="commcare_project">${escapeXml(user.domain)}</data></user_data></Registration>`,
  );
  if (!params.skipFixtures) {
    parts.push(`<fixture id="user-groups" user_id="${escapeXml(user.userId)}"><groups/></fixture>`);
  }
  for (const c of cases.rows) parts.push(caseXml(c, byCase.get(c.case_id) ?? []));
  parts.push('</OpenRosaResponse>');
  return { status: 200, body: parts.join(''), restoreId, caseCount: ids.length };
}
