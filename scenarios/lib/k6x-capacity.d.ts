// k6/x/capacity, the extension in capacity's k6 build (k6x/submit/submit.go).
declare module 'k6/x/capacity' {
  /**
   * What a VU submits: its workers' bodies, each worker's in timeline order, the workers in turn. The extension reads
   * each worker's pack index and maps its pack (once per process), so no VU holds a copy of a body.
   */
  export interface SenderSpec {
    url: string;
    /** every followEvery-th accepted submission of the VU gets "f":1 in its line (the liveness sample); 0: none */
    followEvery: number;
    /** absolute paths of each worker's pack (bodies/w<i>.bin) and index (bodies/w<i>.json), and its headers */
    workers: { w: number; pack: string; index: string; headers: Record<string, string> }[];
    /** the corpus's form names by number (bodies/layout.json) */
    forms: string[];
    /** every submission's tags; each also gets form: its form's name */
    tags: Record<string, string>;
  }
  export interface Sender {
    /**
     * posts body k, checks HQ's answer and adds its request line to the VU's batch: 1 if accepted, else 0, plus 2
     * when the batch is due
     */
    post(k: number): number;
    /** how many submissions it holds */
    count: number;
  }
  export interface Capacity {
    sender(spec: SenderSpec): Sender;
    /** when this VU's batch of request lines is due (the request log in scenarios/lib/actions.ts) */
    batching(rules: BatchRules): void;
    /** adds a request line to this VU's batch; true when the batch is due (urgent: at once) */
    add(line: string, urgent: boolean): boolean;
    /** the batch's lines, joined by newlines ('' when there are none), and forgets them */
    take(): string;
  }
  export function sender(spec: SenderSpec): Sender;
  export interface BatchRules {
    /** due when it holds this many lines */
    lines: number;
    /** or when its first line is this old (ms) */
    ms: number;
    /** or at once when the VU's previous line came longer ago than this (ms) */
    busyMs: number;
    /** or from this time on (ms since the epoch; Infinity: never) */
    tailFrom: number;
  }
  export function batching(rules: BatchRules): void;
  export function add(line: string, urgent: boolean): boolean;
  export function take(): string;
}
