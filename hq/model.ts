// What the service needs from a parsed submission (filled in from the generators' submission reader).
export interface CaseIndexChange {
  identifier: string;
  caseType: string;
  referencedId: string; // '' removes the index
  relationship: 'child' | 'extension';
}

export interface CaseChange {
  caseId: string;
  dateModified?: string;
  userId?: string;
  create?: { caseType?: string; caseName?: string; ownerId?: string };
  update: Record<string, string>;
  indices: CaseIndexChange[];
  close: boolean;
}

export interface LedgerChange {
  kind: 'balance' | 'transfer';
  entityId: string; // the case the ledger belongs to (balance) or src/dest
  sectionId: string;
  date?: string;
  src?: string;
  dest?: string;
  entries: { id: string; quantity: number }[];
}

export interface FormToProcess {
  xmlns: string;
  instanceId: string;
  userId?: string;
  username?: string;
  deviceId?: string;
  timeStart?: string;
  timeEnd?: string;
  appVersion?: string;
  cases: CaseChange[];
  ledgers: LedgerChange[];
}

/** Case transaction type bits, as HQ's CaseTransaction. */
export const TX = { form: 1, create: 256, close: 512, index: 1024, ledger: 4096 } as const;

/** Form states, as HQ's XFormInstance. */
export const FORM_STATE = { normal: 1, error: 2, duplicate: 4, deprecated: 32 } as const;

/** A case as read back from form_processor_commcarecasesql (to_jsonb or a select): timestamps as ISO strings. */
export interface CaseRow {
  case_id: string;
  domain: string;
  type: string;
  name: string | null;
  owner_id: string;
  opened_on: string | null;
  opened_by: string | null;
  modified_on: string;
  modified_by: string | null;
  server_modified_on: string;
  closed: boolean;
  closed_on: string | null;
  closed_by: string | null;
  external_id: string | null;
  case_json: Record<string, string>;
}
