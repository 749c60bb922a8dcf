// k6/x/capacity, the extension in capacity's k6 build (k6x/submit/submit.go).
declare module 'k6/x/capacity' {
  /**
   * What a VU submits: its bodies in send order (where each is in the corpus's body packs, which the extension maps
   * into memory once per process), and for each the request template and request-line prefix.
   */
  export interface SenderSpec {
    url: string;
    /** every followEvery-th accepted submission of the VU gets "f":1 in its line (the liveness sample); 0: none */
    followEvery: number;
    /** absolute paths of the pack files (bodies/w<i>.bin) */
    packs: string[];
    /** body k: bytes offsets[k] to offsets[k] + lengths[k] of packs[packOf[k]] */
    packOf: number[];
    offsets: number[];
    lengths: number[];
    /** headers and tags shared by the bodies of one form (a template may leave the Content-Type to types) */
    templates: { headers: Record<string, string>; tags: Record<string, string> }[];
    templateOf: number[];
    /** each body's Content-Type, set over its template's; '' keeps the template's */
    types: string[];
    /** `"w":<worker>,"form":"<name>"` of each body */
    prefixes: string[];
  }
  export interface Sender {
    /** posts body k with k6's HTTP client, checks HQ's answer, writes its request line; 1 if accepted, else 0 */
    post(k: number): number;
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
