import fs from 'node:fs';
import type { Command } from 'commander';
import { blobRoot } from '../../stack/components/hq.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { audit, BlobStore, createPool } from '../../hq/index.ts';
import { loadStackContext, stackStatus } from '../../stack/stack.ts';
import { UserError } from '../../core/errors.ts';
import { requireDuration } from '../../core/duration.ts';

/** Form ids from an acks file: NDJSON with a form_id (or formId) field, or one id per line. */
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
      const id = rec.form_id ?? rec.formId;
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

export function register(program: Command): void {
  program
    .command('audit')
    .description('reconcile acknowledged submissions against PostgreSQL, object storage and Elasticsearch (local stack)')
    .option('--acks <file>', 'form ids acknowledged to clients (NDJSON with form_id, or one per line); default: every normal form')
    .option('--domain <name>', 'only this domain (when no acks file is given)')
    .option('--wait <duration>', 'how long to wait for the pillows to catch up', '120s')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { acks?: string; domain?: string; wait: string; json?: boolean }) => {
      const acknowledged = opts.acks ? readAcks(opts.acks) : undefined;
      const waitMs = requireDuration(opts.wait, '--wait');
      const ctx = loadStackContext();
      const status = await stackStatus(ctx);
      const down = status.filter((s) => ['postgres', 'kafka', 'elasticsearch'].includes(s.name) && s.state !== 'running');
      if (down.length) throw new UserError(`the local stack is not running (${down.map((d) => d.name).join(', ')}): run \`capacity stack up\``);
      const pool = createPool(postgresUrl(ctx), 4);
      try {
        const report = await audit({
          pool, blobs: new BlobStore(blobRoot(ctx)), esUrl: elasticsearchUrl(ctx), kafkaBrokers: [kafkaBroker(ctx)],
          acknowledged, domain: opts.domain, waitMs, progress: (m) => process.stderr.write(`[audit] ${m}\n`),
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
          console.log(report.ok ? 'audit: nothing lost' : 'audit: MISSING DATA');
        }
        if (!report.ok) process.exitCode = 1;
      } finally {
        await pool.end();
      }
    });
}
