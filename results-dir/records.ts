// acks.ndjson (one line per acknowledged form) and liveness.ndjson (one line per followed form), written by the
// liveness follower (runner/liveness.ts) while the run goes.

/** An acknowledged form: HQ's form id, when (ms), the mobile worker (corpus index) and the form's name. */
export interface AckRecord {
  ack: string;
  t: number;
  w: number;
  form?: string;
}

/** A followed form: acknowledged at, and searchable at (absent: never searchable within the run). */
export interface LivenessRecord {
  formId: string;
  ackedAt: number;
  searchableAt?: number;
  lagMs?: number;
}
