/**
 * `capacity generate --validate PATH`: reads submissions from a file or a folder and reports every
 * problem with the file (and line) it is in.
 *
 *   *.xml        one submission (raw XForm instance)
 *   *.ndjson     corpus lines ({ xml } or { contentType, body64 } multipart) — streamed, memory flat
 *   a folder     every .xml / .ndjson below it; a corpus folder (manifest.json) is also checked against
 *                its manifest (files present, line counts) and each worker file for case lifecycle:
 *                no case touched before it is created or after it is closed, no index to an unknown case.
 */
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { base64Decode } from '../encoding.ts';
import { MultipartError, xmlFromMultipart } from '../multipart.ts';
import { readSubmission, SubmissionError, type Submission } from '../reader.ts';
import { CORPUS_FORMAT, type CorpusManifest } from './corpus.ts';

export interface ValidationIssue {
  file: string;
  line?: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface ValidationReport {
  files: number;
  submissions: number;
  errors: number;
  warnings: number;
  /** At most `maxIssues` issues (counts above are complete). */
  issues: ValidationIssue[];
}

export interface ValidateOptions {
  maxIssues?: number;
  /** Report reader warnings (no meta, no instanceID...) too (default true). */
  warnings?: boolean;
  /** Check case lifecycle inside each .ndjson file (default: only for corpus worker files). */
  lifecycle?: boolean;
}

class Collector {
  readonly report: ValidationReport = { files: 0, submissions: 0, errors: 0, warnings: 0, issues: [] };
  constructor(readonly opts: ValidateOptions) {}
  add(issue: ValidationIssue): void {
    if (issue.severity === 'error') this.report.errors++;
    else {
      if (this.opts.warnings === false) return;
      this.report.warnings++;
    }
    if (this.report.issues.length < (this.opts.maxIssues ?? 200)) this.report.issues.push(issue);
  }
}

function describe(err: unknown): string {
  if (err instanceof SubmissionError || err instanceof MultipartError) return err.message;
  if (err instanceof SyntaxError) return `not valid JSON: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Per-file case lifecycle, as the worker's timeline must respect it. */
class Lifecycle {
  private readonly created = new Set<string>();
  private readonly closed = new Set<string>();
  private readonly instances = new Map<string, number>();

  check(sub: Submission, kind: string, instanceID: string | undefined, at: number): string[] {
    const problems: string[] = [];
    if (kind === 'duplicate') {
      if (instanceID && !this.instances.has(instanceID))
        problems.push(`duplicate of instanceID ${instanceID}, which was not submitted before`);
      return problems;
    }
    if (kind === 'edit') {
      if (instanceID && !this.instances.has(instanceID)) problems.push(`edit of instanceID ${instanceID}, which was not submitted before`);
      for (const c of sub.cases) if (!this.created.has(c.caseId)) problems.push(`edit touches case ${c.caseId}, which was never created`);
      return problems;
    }
    if (instanceID) {
      if (this.instances.has(instanceID))
        problems.push(`instanceID ${instanceID} was already used at line ${this.instances.get(instanceID)} (kind "original")`);
      this.instances.set(instanceID, at);
    }
    // HQ applies a form's case blocks together: a block may index or update a case created by a later
    // block of the same form (App Builder puts repeat subcases before the form's own case block).
    const createdHere = new Set<string>();
    for (const c of sub.cases) {
      if (!c.create) continue;
      if (this.created.has(c.caseId) && !createdHere.has(c.caseId)) problems.push(`case ${c.caseId} is created again`);
      createdHere.add(c.caseId);
    }
    for (const c of sub.cases) {
      const known = this.created.has(c.caseId) || createdHere.has(c.caseId);
      if (!known) problems.push(`case ${c.caseId} is updated (${c.actions.join(', ')}) before it is created`);
      if (this.closed.has(c.caseId)) problems.push(`case ${c.caseId} is touched (${c.actions.join(', ')}) after it was closed`);
      for (const [ident, ref] of Object.entries(c.index ?? {})) {
        if (ref.caseId && !this.created.has(ref.caseId) && !createdHere.has(ref.caseId)) {
          problems.push(`case ${c.caseId} index "${ident}" points to ${ref.caseId}, which was never created`);
        }
      }
    }
    for (const id of createdHere) this.created.add(id);
    for (const c of sub.cases) if (c.close) this.closed.add(c.caseId);
    return problems;
  }
}

function checkSubmission(col: Collector, file: string, line: number | undefined, xml: string | Uint8Array): Submission | undefined {
  col.report.submissions++;
  try {
    const sub = readSubmission(xml);
    for (const w of sub.warnings) col.add({ file, line, severity: 'warning', message: w });
    return sub;
  } catch (err) {
    col.add({ file, line, severity: 'error', message: describe(err) });
    return undefined;
  }
}

async function validateNdjson(col: Collector, file: string, shown: string, lifecycle: boolean): Promise<number> {
  col.report.files++;
  const lc = lifecycle ? new Lifecycle() : undefined;
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  let records = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    records++;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(text) as Record<string, unknown>;
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new Error('a line must be a JSON object');
    } catch (err) {
      col.report.submissions++;
      col.add({ file: shown, line, severity: 'error', message: describe(err) });
      continue;
    }
    let xml: string | undefined;
    try {
      if (typeof rec.body64 === 'string') {
        if (typeof rec.contentType !== 'string') throw new MultipartError('record has body64 but no contentType');
        xml = xmlFromMultipart(base64Decode(rec.body64), rec.contentType).xml;
      } else if (typeof rec.xml === 'string') {
        xml = rec.xml;
      } else {
        throw new Error('record has neither "xml" nor "body64"');
      }
    } catch (err) {
      col.report.submissions++;
      col.add({ file: shown, line, severity: 'error', message: describe(err) });
      continue;
    }
    const sub = checkSubmission(col, shown, line, xml);
    if (!sub) continue;
    const id = typeof rec.instanceID === 'string' ? rec.instanceID : undefined;
    if (id !== undefined && sub.meta?.instanceID !== id) {
      col.add({
        file: shown,
        line,
        severity: 'error',
        message: `record instanceID ${id} does not match the form's meta instanceID ${sub.meta?.instanceID ?? '(none)'}`,
      });
    }
    const kind = typeof rec.kind === 'string' ? rec.kind : 'original';
    if (!['original', 'duplicate', 'edit'].includes(kind))
      col.add({ file: shown, line, severity: 'error', message: `unknown kind "${kind}"` });
    if (lc) for (const p of lc.check(sub, kind, sub.meta?.instanceID, line)) col.add({ file: shown, line, severity: 'error', message: p });
  }
  return records;
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(xml|ndjson)$/i.test(e.name)) out.push(p);
  }
}

export async function validatePath(target: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const col = new Collector(opts);
  if (!existsSync(target)) {
    col.add({ file: target, severity: 'error', message: 'no such file or folder' });
    return col.report;
  }
  if (!statSync(target).isDirectory()) {
    if (/\.ndjson$/i.test(target)) await validateNdjson(col, target, target, opts.lifecycle === true);
    else {
      col.report.files++;
      checkSubmission(col, target, undefined, readFileSync(target));
    }
    return col.report;
  }
  const manifestPath = path.join(target, 'manifest.json');
  let manifest: CorpusManifest | undefined;
  if (existsSync(manifestPath)) {
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CorpusManifest;
      if (manifest.format !== CORPUS_FORMAT) {
        col.add({
          file: manifestPath,
          severity: 'error',
          message: `unknown corpus format "${String(manifest.format)}" (expected ${CORPUS_FORMAT})`,
        });
        manifest = undefined;
      }
    } catch (err) {
      col.add({ file: manifestPath, severity: 'error', message: describe(err) });
    }
  }
  const files: string[] = [];
  walk(target, files);
  const expected = new Map<string, number>();
  if (manifest) {
    for (const f of manifest.files ?? []) {
      const p = path.join(target, f.file);
      expected.set(path.resolve(p), f.forms);
      if (!existsSync(p)) col.add({ file: p, severity: 'error', message: 'listed in manifest.json but missing' });
    }
    if (!existsSync(path.join(target, manifest.usersFile ?? 'users.json')))
      col.add({ file: path.join(target, 'users.json'), severity: 'error', message: 'missing (listed in manifest.json)' });
  }
  for (const f of files) {
    const rel = path.relative(process.cwd(), f);
    const shown = rel && !rel.startsWith('..') ? rel : f;
    if (/\.ndjson$/i.test(f)) {
      const want = expected.get(path.resolve(f));
      const n = await validateNdjson(col, f, shown, opts.lifecycle ?? want !== undefined);
      if (want !== undefined && n !== want)
        col.add({ file: shown, severity: 'error', message: `holds ${n} submissions, manifest.json says ${want}` });
    } else {
      col.report.files++;
      checkSubmission(col, shown, undefined, readFileSync(f));
    }
  }
  if (files.length === 0) col.add({ file: target, severity: 'error', message: 'no .xml or .ndjson files found' });
  return col.report;
}

export function formatIssue(i: ValidationIssue): string {
  return `${i.file}${i.line !== undefined ? `:${i.line}` : ''}: ${i.severity}: ${i.message}`;
}
