/**
 * Entry point of the k6 bundle (.capacity/build/generators.k6.js, built by scripts/build-k6-bundle.ts with generators/node/k6-bundle.ts, the bundler the scenarios' bundle uses too).
 * Everything in index.ts, plus a small API for k6 scripts that generate on the fly:
 *
 *   import { createPopulation } from './generators.k6.js';
 *   const pop = createPopulation({ app: 'household', users: 50, seed: 42, domain: 'demo' });
 *   export default function () {
 *     const w = pop.worker((__VU - 1) % pop.size);
 *     const req = w.nextSubmissionRequest({ baseUrl: 'http://localhost:8000', domain: 'demo' });
 *     http.post(req.url, req.body, { headers: req.headers });
 *     const rr = w.nextRestoreRequest(target);                   // full first, then since=<token>
 *     const res = http.get(rr.url, { headers: rr.headers });
 *     w.handleRestoreResponse(res.status, res.body, res.headers);
 *   }
 *
 * and helpers to read a corpus written by `capacity generate` (see generators/README.md).
 * No k6 imports here: k6 modules (k6/http, k6/data) stay in the scenario scripts.
 */
import { parseAppText, type AppDefinition } from './app.ts';
import { embeddedApp, isBuiltinApp } from './builtin.ts';
import { base64Decode } from './encoding.ts';
import { Population, type GeneratedSubmission, type PopulationOptions, type WorkerTimeline } from './population.ts';
import type { MobileWorker } from './render.ts';
import { RestoreSession, submissionRequest, type RestoreResult, type SubmissionRequestOptions, type Target } from './requests.ts';

export * from './index.ts';

/** Request with a body k6's http module accepts (string or ArrayBuffer). */
export interface K6Request {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string | ArrayBuffer;
}

function toArrayBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}

export class K6Worker {
  readonly user: MobileWorker;
  private restore: RestoreSession | undefined;

  constructor(readonly timeline: WorkerTimeline) {
    this.user = timeline.worker;
  }

  nextSubmission(): GeneratedSubmission {
    return this.timeline.next();
  }

  submissionRequest(sub: GeneratedSubmission, target: Target, opts: SubmissionRequestOptions = {}): K6Request {
    const r = submissionRequest(sub, this.user, target, opts);
    return { ...r, body: typeof r.body === 'string' || r.body === undefined ? r.body : toArrayBuffer(r.body) };
  }

  /** The next form of this worker's timeline as a ready-to-send POST (multipart by default). */
  nextSubmissionRequest(target: Target, opts: SubmissionRequestOptions = {}): K6Request & { submission: GeneratedSubmission } {
    const sub = this.nextSubmission();
    return { ...this.submissionRequest(sub, target, opts), submission: sub };
  }

  restoreSession(target: Target, opts: ConstructorParameters<typeof RestoreSession>[2] = {}): RestoreSession {
    if (!this.restore) this.restore = new RestoreSession(this.user, target, opts);
    return this.restore;
  }

  nextRestoreRequest(target: Target, opts: ConstructorParameters<typeof RestoreSession>[2] = {}): K6Request {
    return this.restoreSession(target, opts).next() as K6Request;
  }

  handleRestoreResponse(status: number, body: string | null | undefined, headers?: Record<string, string>): RestoreResult {
    if (!this.restore) throw new Error('handleRestoreResponse before nextRestoreRequest');
    return this.restore.handle(status, body ?? '', headers);
  }
}

export interface K6PopulationOptions extends PopulationOptions {
  /** A built-in app name (household, supply), the YAML/JSON text of an app, or a parsed app. */
  app?: string | AppDefinition;
}

export class K6Population {
  readonly population: Population;
  private readonly workers = new Map<number, K6Worker>();

  constructor(opts: K6PopulationOptions = {}) {
    const { app = 'household', ...rest } = opts;
    let def: AppDefinition;
    if (typeof app !== 'string') def = app;
    else if (isBuiltinApp(app)) def = embeddedApp(app);
    else def = parseAppText(app, 'app');
    this.population = new Population(def, rest);
  }

  get size(): number {
    return this.population.size;
  }

  /** Worker `index` (its timeline is kept: successive calls continue it). */
  worker(index: number): K6Worker {
    let w = this.workers.get(index);
    if (!w) {
      w = new K6Worker(this.population.timeline(index));
      this.workers.set(index, w);
    }
    return w;
  }

  users(): MobileWorker[] {
    return this.population.users();
  }
}

export function createPopulation(opts: K6PopulationOptions = {}): K6Population {
  return new K6Population(opts);
}

/** One line of a corpus file (forms/wNNNN.ndjson). */
export interface CorpusRecord {
  seq: number;
  worker: number;
  form: string;
  kind: 'original' | 'duplicate' | 'edit';
  phase: 'preload' | 'work';
  instanceID: string;
  timeEnd: string;
  bytes: number;
  xml?: string;
  contentType?: string;
  body64?: string;
}

/** Parses a corpus NDJSON file's text (use inside a SharedArray callback). */
export function parseCorpusFile(text: string): CorpusRecord[] {
  const out: CorpusRecord[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) out.push(JSON.parse(text.slice(start, end)) as CorpusRecord);
    start = end + 1;
  }
  return out;
}

/** Body and Content-Type to POST for a corpus record (multipart records carry their body in base64). */
export function corpusRequestBody(rec: CorpusRecord): { body: string | ArrayBuffer; contentType: string } {
  if (rec.body64 !== undefined && rec.contentType) return { body: toArrayBuffer(base64Decode(rec.body64)), contentType: rec.contentType };
  if (rec.xml === undefined) throw new Error(`corpus record ${rec.worker}/${rec.seq} has neither xml nor body64`);
  return { body: rec.xml, contentType: 'text/xml; charset=utf-8' };
}
