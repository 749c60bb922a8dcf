// The receiver's view of a submission, from the generators' reader (the same reader the harness validates with).
import { randomUUID } from 'node:crypto';
import { readSubmission, SubmissionError } from '../generators/reader.ts';
import type { CaseChange, FormToProcess, LedgerChange } from './model.ts';

export { SubmissionError };

export class UnprocessableForm extends Error {}

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
      ledgers.push({ kind: l.kind, entityId: l.entityId ?? '', src: l.src, dest: l.dest, date: l.date,
        sectionId: e.sectionId, entries: [{ id: e.productId, quantity: e.quantity }] });
    }
  }
  return {
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
}
