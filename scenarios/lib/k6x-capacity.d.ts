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
    /** posts body k with k6's HTTP client, checks HQ's answer, writes its request line; 1 if accepted, else 0 */
    post(k: number): number;
    /** how many submissions it holds */
    count: number;
  }
  export interface Capacity {
    sender(spec: SenderSpec): Sender;
    /** adds a request line to this VU's pending lines */
    add(line: string): void;
    /** the pending lines, joined by newlines, and forgets them */
    take(): string;
  }
  export function sender(spec: SenderSpec): Sender;
  export function add(line: string): void;
  export function take(): string;
}
