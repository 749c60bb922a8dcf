// The receiver's view of a submission, from the generators' reader (the same reader the harness validates with).
import { randomUUID } from 'node:crypto';
import { readSubmission, SubmissionError } from '../generators/reader.ts';
import type { CaseChange, FormToProcess, LedgerChange } from './model.ts';

export { SubmissionError };

export class UnprocessableForm extends Error {}

/** HQ's id columns are varchar(255); a longer id would also overflow PostgreSQL's index rows (a 500 every retry). */
export const MAX_ID_LENGTH = 255;

function checkIds(form: FormToProcess): void {
  const check = (v: string | undefined, what: string) => {
    if (v !== undefined && v.length > MAX_ID_LENGTH)
      throw new UnprocessableForm(`${what} is ${v.length} characters long (at most ${MAX_ID_LENGTH})`);
  };
  check(form.instanceId, 'instanceID');
  check(form.userId, 'userID');
  for (const c of form.cases) {
    check(c.caseId, 'a case_id');
    check(c.userId, `case ${c.caseId.slice(0, 40)}: user_id`);
    check(c.create?.ownerId, `case ${c.caseId.slice(0, 40)}: owner_id`);
    check(c.update.owner_id, `case ${c.caseId.slice(0, 40)}: owner_id`);
    for (const i of c.indices) {
      check(i.identifier, `case ${c.caseId.slice(0, 40)}: an index name`);
      check(i.referencedId, `case ${c.caseId.slice(0, 40)}: index ${i.identifier.slice(0, 40)}`);
    }
  }
  for (const l of form.ledgers) {
    for (const [v, what] of [
      [l.entityId, 'entity-id'],
      [l.src, 'src'],
      [l.dest, 'dest'],
      [l.sectionId, 'section-id'],
    ] as const)
      check(v, `a ledger's ${what}`);
    for (const e of l.entries) check(e.id, 'a ledger entry id');
  }
}

export function formFromXml(xml: Buffer): FormToProcess {
  const sub = readSubmission(xml);
  // HQ gives a form without an instanceID an id of its own.
  const instanceId = sub.meta?.instanceID?.trim() || randomUUID();
  const cases: CaseChange[] = sub.cases.map((b) => ({
    caseId: b.caseId,
    dateModified: b.dateModified,
    userId: b.userId,
    create: b.create,
    update: b.update ?? {},
    indices: Object.entries(b.index ?? {}).map(([identifier, ref]) => ({
      identifier,
      caseType: ref.caseType,
      referencedId: ref.caseId,
      relationship: ref.relationship,
    })),
    close: b.close,
  }));
  const ledgers: LedgerChange[] = [];
  for (const l of sub.ledgers) {
    for (const e of l.entries) {
      ledgers.push({
        kind: l.kind,
        entityId: l.entityId ?? '',
        src: l.src,
        dest: l.dest,
        date: l.date,
        sectionId: e.sectionId,
        entries: [{ id: e.productId, quantity: e.quantity }],
      });
    }
  }
  const form: FormToProcess = {
    xmlns: sub.xmlns,
    instanceId,
    userId: sub.meta?.userID,
    username: sub.meta?.username,
    deviceId: sub.meta?.deviceID,
    timeStart: sub.meta?.timeStart,
    timeEnd: sub.meta?.timeEnd,
    appVersion: sub.meta?.appVersion,
    cases,
    ledgers,
  };
  checkIds(form);
  return form;
}
