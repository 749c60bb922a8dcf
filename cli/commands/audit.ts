import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { blobRoot } from '../../stack/components/hq.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { audit, BlobStore, createPool, type RefusedSubmissions } from '../../hq/index.ts';
import { refusedSubmissions, RESULT_FILES } from '../../results-dir/index.ts';
import { loadStackContext, stackStatus } from '../../stack/stack.ts';
import { UserError } from '../../core/errors.ts';
import { requireDuration } from '../../core/duration.ts';
import type { StackContext } from '../../stack/component.ts';
import { blobDir, loadContainerStack } from '../../docker/container-stack.ts';
import { healthProbe } from '../../docker/container-specs.ts';
import { requireEngine } from '../../docker/engine.ts';

const AUDITED = ['postgres', 'kafka', 'elasticsearch'];

/** The stack to audit, and its blob store: the local one, or (`--containers`) the containers' through their published ports. */
async function auditedStack(containers: boolean | undefined): Promise<{ ctx: StackContext; blobs: string }> {
  if (containers) {
    await requireEngine();
    const up = await loadContainerStack();
    if (!up) throw new UserError('the containerised stack is not up: run `capacity stack up --containers`');
    const down: string[] = [];
    for (const c of AUDITED) if (!(await healthProbe(c)(up.ctx))) down.push(c);
    if (down.length)
      throw new UserError(`the containerised stack's ${down.join(', ')} do not answer: run \`capacity stack up --containers\``);
    return { ctx: up.ctx, blobs: blobDir(up.stack) };
  }
  const ctx = loadStackContext();
  const status = await stackStatus(ctx);
  const down = status.filter((s) => AUDITED.includes(s.name) && s.state !== 'running');
  if (down.length) throw new UserError(`the local stack is not running (${down.map((d) => d.name).join(', ')}): run \`capacity stack up\``);
  return { ctx, blobs: blobRoot(ctx) };
}

/** Form ids from an acks file: NDJSON with a form_id, formId or ack (a run's acks.ndjson) field, or one id per line. */
export function readAcks(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read acks file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const ids: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('{')) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new UserError(`${file}:${i + 1}: not valid JSON`);
      }
      const id = rec.form_id ?? rec.formId ?? rec.ack;
      if (typeof id !== 'string' || !id) throw new UserError(`${file}:${i + 1}: no form_id`);
      ids.push(id);
    } else if (/^[\w-]+$/.test(line)) {
      ids.push(line);
    } else {
      throw new UserError(`${file}:${i + 1}: not a form id: ${line.slice(0, 60)}`);
    }
  });
  return ids;
}

/**
 * What to audit from --acks / --results: the acknowledged ids, and the run's request log when there is one (a
 * results directory, or requests.ndjson beside the acks file), which knows every submission the service refused.
 */
export async function auditSources(opts: {
  acks?: string;
  results?: string;
}): Promise<{ acknowledged?: string[]; refused?: RefusedSubmissions; requestLog?: string }> {
  if (opts.acks && opts.results) throw new UserError('give --acks or --results, not both');
  let acksFile = opts.acks;
  let requestLog: string | undefined;
  if (opts.results) {
    if (!fs.existsSync(path.join(opts.results, RESULT_FILES.manifest)))
      throw new UserError(`${opts.results}: not a results directory (no ${RESULT_FILES.manifest})`);
    acksFile = path.join(opts.results, RESULT_FILES.acks);
    requestLog = path.join(opts.results, RESULT_FILES.requestLog);
  } else if (acksFile) {
    const beside = path.join(path.dirname(acksFile), RESULT_FILES.requestLog);
    if (fs.existsSync(beside)) requestLog = beside;
  }
  // a results directory without acks.ndjson: nothing was acknowledged (not: audit every form)
  const acknowledged = acksFile && (opts.acks || fs.existsSync(acksFile)) ? readAcks(acksFile) : opts.results ? [] : undefined;
  if (!requestLog || !fs.existsSync(requestLog)) return { acknowledged };
  return { acknowledged, refused: await refusedSubmissions(requestLog), requestLog };
}

export function register(program: Command): void {
  program
    .command('audit')
    .description('reconcile acknowledged submissions against PostgreSQL, object storage and Elasticsearch (local stack, or --containers)')
    .option('--acks <file>', 'form ids acknowledged to clients (NDJSON with form_id or ack, or one per line); default: every normal form')
    .option('--results <dir>', "a run's results directory: its acknowledged forms, and the submissions it saw refused (request log)")
    .option('--domain <name>', 'only this domain (when no acks file is given)')
    .option('--wait <duration>', 'how long to wait for the pillows to catch up', '120s')
    .option('--json', 'print the report as JSON')
    .option('--containers', 'the containerised stack (capacity stack up --containers), through its published ports')
    .action(async (opts: { acks?: string; results?: string; domain?: string; wait: string; json?: boolean; containers?: boolean }) => {
      const { acknowledged, refused } = await auditSources(opts);
      const waitMs = requireDuration(opts.wait, '--wait');
      const { ctx, blobs } = await auditedStack(opts.containers);
      const pool = createPool(postgresUrl(ctx), 4);
      try {
        const report = await audit({
          pool,
          blobs: new BlobStore(blobs),
          esUrl: elasticsearchUrl(ctx),
          kafkaBrokers: [kafkaBroker(ctx)],
          acknowledged,
          refused,
          domain: opts.domain,
          waitMs,
          progress: (m) => process.stderr.write(`[audit] ${m}\n`),
        });
        if (opts.json) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          const line = (label: string, ids: string[]) =>
            console.log(`${label.padEnd(34)} ${ids.length}${ids.length ? `  e.g. ${ids.slice(0, 5).join(', ')}` : ''}`);
          console.log(`acknowledged forms                 ${report.acknowledged}`);
          line('missing in PostgreSQL', report.missingInPostgres);
          line('missing blob (form XML)', report.missingBlobs);
          line('missing in Elasticsearch xforms', report.missingInXforms);
          line('cases missing in Elasticsearch', report.missingCasesInHqcases);
          line('missing in the UCR table', report.missingInUcr);
          console.log(`pillow offset lag at check        ${report.pillowLag}`);
          console.log(`documents rejected by pillows      ${report.pillowErrors}`);
          const r = report.refused;
          if (r)
            console.log(
              `submissions refused (request log)  ${r.refused} of ${r.sent}${r.refused ? `  by status: ${formatByStatus(r.byStatus)}` : ''}`,
            );
          console.log(
            report.ok
              ? 'audit: nothing lost'
              : r?.refused && onlyRefused(report)
                ? `audit: ${r.refused} submissions refused: the phones still hold them, they are not in HQ`
                : 'audit: MISSING DATA',
          );
        }
        if (!report.ok) process.exitCode = 1;
      } finally {
        await pool.end();
      }
    });
}

export function formatByStatus(byStatus: Record<string, number>): string {
  return Object.entries(byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s} x${n}`)
    .join(', ');
}

/** Nothing acknowledged is missing: the audit failed only on the refused submissions. */
function onlyRefused(r: {
  missingInPostgres: string[];
  missingBlobs: string[];
  missingInXforms: string[];
  missingCasesInHqcases: string[];
  missingInUcr: string[];
}): boolean {
  return [r.missingInPostgres, r.missingBlobs, r.missingInXforms, r.missingCasesInHqcases, r.missingInUcr].every((l) => l.length === 0);
}
