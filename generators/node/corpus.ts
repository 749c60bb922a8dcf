/**
 * Writes a corpus of submissions for k6, streaming: one worker's timeline at a time, lines buffered and
 * written in ~1 MB batches, nothing kept once written, so memory stays flat however many forms.
 *
 * Layout (format "capacity-corpus/1"):
 *   OUT/manifest.json      parameters, app, counts, file list (written last: its presence means complete)
 *   OUT/users.json         [{ index, username, login, password, userId, deviceId, file, forms }]
 *   OUT/forms/wNNNN.ndjson one JSON object per line, in the worker's timeline order:
 *     { seq, worker, form, kind: original|duplicate|edit, phase: preload|work, instanceID, timeEnd, bytes,
 *       xml }                                      raw XML corpus
 *     { ..., contentType, body64 }                 --multipart: the whole multipart body, base64
 * A VU that plays worker i reads forms/wNNNN.ndjson in order (cases are created before they are used).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AppDefinition } from '../app.ts';
import { base64Encode } from '../encoding.ts';
import { submissionMultipart } from '../multipart.ts';
import { Population, type PopulationOptions } from '../population.ts';

export const CORPUS_FORMAT = 'capacity-corpus/1';

export interface CorpusOptions {
  app: AppDefinition;
  /** Where the app came from (recorded in the manifest). */
  appSource: string;
  population: PopulationOptions;
  /** Total number of submissions (preload + work, duplicates and edits included). */
  count: number;
  out: string;
  multipart?: boolean;
  /** With multipart: include attachment parts (default true). */
  attachments?: boolean;
  /** Replace an existing corpus in `out`. */
  force?: boolean;
  onProgress?: (p: CorpusProgress) => void;
  /** Flush to disk every this many bytes (default 1 MiB). */
  batchBytes?: number;
}

export interface CorpusProgress {
  done: number;
  total: number;
  bytes: number;
  elapsedMs: number;
  worker: number;
}

export interface CorpusManifest {
  format: string;
  generator: string;
  app: { name: string; source: string; version: number; forms: string[] };
  population: Record<string, unknown>;
  count: number;
  multipart: boolean;
  counts: { original: number; duplicate: number; edit: number; preload: number; work: number; byForm: Record<string, number> };
  bytes: { xml: number; files: number };
  users: number;
  usersFile: string;
  files: { worker: number; file: string; forms: number }[];
  layout: string;
}

export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusError';
  }
}

export function workerFileName(index: number, users: number): string {
  return `forms/w${String(index).padStart(Math.max(4, String(users - 1).length), '0')}.ndjson`;
}

function prepareOut(out: string, force: boolean): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0) {
      const ours = entries.every((e) => ['manifest.json', 'users.json', 'forms'].includes(e));
      if (!force) throw new CorpusError(`${out} is not empty${ours ? ' (it holds a corpus: pass --force to replace it)' : ''}`);
      if (!ours) throw new CorpusError(`${out} holds other files than a corpus: refusing to replace it`);
      for (const e of entries) rmSync(path.join(out, e), { recursive: true, force: true });
    }
  }
  mkdirSync(path.join(out, 'forms'), { recursive: true });
}

export async function writeCorpus(opts: CorpusOptions): Promise<CorpusManifest> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new CorpusError(`count must be an integer >= 1, got ${opts.count}`);
  const pop = new Population(opts.app, opts.population);
  const users = pop.size;
  prepareOut(opts.out, opts.force === true);
  const batchBytes = opts.batchBytes ?? 1 << 20;
  const t0 = Date.now();
  const counts: CorpusManifest['counts'] = { original: 0, duplicate: 0, edit: 0, preload: 0, work: 0, byForm: {} };
  const files: CorpusManifest['files'] = [];
  const usersOut: Record<string, unknown>[] = [];
  let done = 0;
  let xmlBytes = 0;
  let fileBytes = 0;
  let lastReport = 0;
  const base = Math.floor(opts.count / users);
  const extra = opts.count % users;
  for (let i = 0; i < users; i++) {
    const n = base + (i < extra ? 1 : 0);
    const user = pop.user(i);
    const file = workerFileName(i, users);
    usersOut.push({
      index: i,
      username: user.username,
      login: user.login,
      password: user.password,
      userId: user.userId,
      deviceId: user.deviceId,
      file,
      forms: n,
    });
    files.push({ worker: i, file, forms: n });
    const fd = openSync(path.join(opts.out, file), 'w');
    try {
      if (n === 0) continue;
      const tl = pop.timeline(i);
      let buf: string[] = [];
      let bufLen = 0;
      for (let k = 0; k < n; k++) {
        const sub = tl.next();
        const xmlLen = Buffer.byteLength(sub.xml);
        const rec: Record<string, unknown> = {
          seq: sub.seq,
          worker: sub.worker,
          form: sub.formId,
          kind: sub.kind,
          phase: sub.phase,
          instanceID: sub.instanceID,
          timeEnd: sub.timeEnd,
          bytes: xmlLen,
        };
        if (opts.multipart) {
          const mp = submissionMultipart(sub, { attachments: opts.attachments });
          rec.contentType = mp.contentType;
          rec.body64 = base64Encode(mp.body);
        } else {
          rec.xml = sub.xml;
        }
        const line = JSON.stringify(rec) + '\n';
        buf.push(line);
        bufLen += line.length;
        xmlBytes += xmlLen;
        counts[sub.kind]++;
        counts[sub.phase]++;
        counts.byForm[sub.formId] = (counts.byForm[sub.formId] ?? 0) + 1;
        done++;
        if (bufLen >= batchBytes) {
          fileBytes += writeSync(fd, buf.join(''));
          buf = [];
          bufLen = 0;
        }
        if (opts.onProgress && (done & 1023) === 0) {
          const now = Date.now();
          if (now - lastReport >= 500) {
            lastReport = now;
            opts.onProgress({ done, total: opts.count, bytes: fileBytes + bufLen, elapsedMs: now - t0, worker: i });
          }
        }
      }
      if (bufLen > 0) fileBytes += writeSync(fd, buf.join(''));
    } finally {
      closeSync(fd);
    }
    // let the event loop breathe between workers (signals, progress output)
    if ((i & 15) === 15) await new Promise((r) => setImmediate(r));
  }
  writeFileSync(path.join(opts.out, 'users.json'), JSON.stringify(usersOut, null, 1) + '\n');
  const c = pop.config;
  const manifest: CorpusManifest = {
    format: CORPUS_FORMAT,
    generator: 'capacity generate',
    app: { name: opts.app.name, source: opts.appSource, version: opts.app.version, forms: opts.app.forms.map((f) => f.id) },
    population: { ...c },
    count: opts.count,
    multipart: opts.multipart === true,
    counts,
    bytes: { xml: xmlBytes, files: fileBytes },
    users,
    usersFile: 'users.json',
    files,
    layout:
      'forms/wNNNN.ndjson: one submission per line in worker timeline order; fields seq, worker, form, kind, phase, instanceID, timeEnd, bytes, and xml (raw) or contentType + body64 (multipart)',
  };
  writeFileSync(path.join(opts.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  opts.onProgress?.({ done, total: opts.count, bytes: fileBytes, elapsedMs: Date.now() - t0, worker: users - 1 });
  return manifest;
}
