// Which VU sends which mobile worker's forms. Each worker belongs to one load generator (segment) and, there,
// to one VU, which sends that worker's forms strictly in timeline order, one at a time, as a phone does. A VU
// holds only its own workers' bodies in memory, so the submit path is a synchronous slice of an in-memory
// buffer (no shared-array decode, no async file read per request). Pure: used inside k6 and by the runner.

export interface Ownership {
  users: number;
  /** Load generators sharing the run (k6 execution segments); 1 without scale-out. */
  segments: number;
  /** VUs in one generator's pool (k6's maxVUs for its segment): every one of them sends submissions. */
  pool: number;
}

/** Workers of segment s (0-based): w % segments === s. */
export function segmentWorkers(o: Ownership, s: number): number[] {
  const out: number[] = [];
  for (let w = s; w < o.users; w += o.segments) out.push(w);
  return out;
}

/** Workers that VU `vu` (1-based, k6's __VU) of segment s owns: the segment's workers of rank vu-1 modulo the pool. */
export function ownedWorkers(o: Ownership, s: number, vu: number): number[] {
  return segmentWorkers(o, s).filter((_, rank) => rank % o.pool === vu - 1);
}

/** Why this ownership cannot work (every VU needs at least one worker), or undefined. */
export function ownershipProblem(o: Ownership): string | undefined {
  const fewest = Math.floor(o.users / o.segments);
  if (o.pool > fewest) {
    return (
      `${o.pool} VUs per load generator but only ${fewest} mobile workers each: a worker sends one form at a time, ` +
      'as a phone does, so give at least as many --users as --vus (times --segment N)'
    );
  }
  return undefined;
}

/**
 * Forms each worker needs in the corpus for `submissions` in all: arrival-rate executors hand iterations to a
 * generator's VUs in turn, so a VU sends about submissions / (segments * pool) and spreads them over the
 * workers it owns (the fewest a VU owns sets the need); 10 % and 3 forms of margin.
 */
export function formsPerWorker(o: Ownership, submissions: number): number {
  const fewestOwned = Math.max(1, Math.floor(Math.floor(o.users / o.segments) / o.pool));
  return Math.ceil(((submissions / (o.segments * o.pool)) * 1.1 + 3) / fewestOwned);
}

/** Parses k6's execution segment ("1/3:2/3", "0:1/2", "" for the whole test) to a 0-based index of `segments`. */
export function segmentIndex(executionSegment: string | undefined, segments: number): number {
  if (!executionSegment || segments <= 1) return 0;
  const start = executionSegment.split(':')[0]!.trim();
  const [num, den] = start.split('/');
  const from = den === undefined ? Number(num) : Number(num) / Number(den);
  return Math.round(from * segments);
}

/** Forms the corpus holds for `submissions` in all: every worker gets formsPerWorker. */
export function corpusForms(o: Ownership, submissions: number): number {
  return formsPerWorker(o, submissions) * o.users;
}
