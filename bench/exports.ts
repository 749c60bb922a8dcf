// Exports and the data API on the running local stack (costs measured on the stand-in are the stand-in's):
// - cases exported per second per celery worker core: case exports run one at a time through nginx, RabbitMQ and a
//   celery worker; the CPU the celery workers used (from /proc) divides the rows;
// - data API page latency at 1,000 forms a page: form documents in the xforms index (copies of a real indexed form,
//   or a small synthetic one), paged by indexed_on cursor and by offset (offsets stop at Elasticsearch's 10,000).
//
//   node --import tsx bench/exports.ts [--cases 100000] [--exports 4] [--forms 20000] [--passes 3]
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Client as EsClient } from '@elastic/elasticsearch';
import { percentile } from '../core/stats.ts';
import { createPool } from '../hq/index.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import { ownedPid, groupPids } from '../stack/process.ts';
import { components, loadStackContext, stackUp } from '../stack/stack.ts';
import { apiPages, exportAndDownload, insertCases, testWebUser } from '../test/support/export-client.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    exports: { type: 'string', default: '4' },
    forms: { type: 'string', default: '20000' },
    passes: { type: 'string', default: '3' },
  },
});
const nCases = Number(values.cases);
const nExports = Number(values.exports);
const nForms = Number(values.forms);
const passes = Number(values.passes);

const ctx = loadStackContext({ createUser: true });
await stackUp(ctx);
const pool = createPool(postgresUrl(ctx), 2);
const es = new EsClient({ node: elasticsearchUrl(ctx) });
const base = nginxUrl(ctx);
const domain = `bench-${randomUUID().slice(0, 8)}`;
const user = await testWebUser(pool, domain);
const basic = user.basic;
const f = (n: number, d = 3) => Number(n.toPrecision(d)).toLocaleString('en-US');

/** CPU seconds (user + system) of every celery worker's process group so far. */
function celeryCpuSeconds(): number {
  let ticks = 0;
  for (const c of components().filter((x) => x.name.startsWith('celery-'))) {
    const pid = ownedPid(ctx.paths.run, c.name);
    if (pid === undefined) continue;
    for (const p of groupPids(pid)) {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // gone
      }
    }
  }
  return ticks / 100;
}

try {
  // ---- cases exported per second per worker core ----
  process.stderr.write(`[bench] ${nCases} cases into ${domain}\n`);
  await insertCases(pool, domain, nCases);
  const perCore: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < nExports; i++) {
    const cpu0 = celeryCpuSeconds();
    const r = await exportAndDownload(base, domain, basic, 'case', { pollMs: 500 });
    const cpu = celeryCpuSeconds() - cpu0;
    const rows = r.status.progress.total;
    perCore.push(rows / cpu);
    wall.push(rows / (r.elapsedMs / 1000));
    process.stderr.write(
      `[bench] export ${i + 1}: ${rows} rows in ${r.elapsedMs} ms, ${f(cpu)} celery CPU s, ${(r.file.length / 1e6).toFixed(1)} MB\n`,
    );
  }
  const med = (xs: number[]) => percentile(xs, 50);
  console.log(
    `case export: ${f(med(perCore))} cases per celery CPU second (median of ${nExports}; min ${f(Math.min(...perCore))}, max ${f(Math.max(...perCore))})`,
  );
  console.log(`case export: ${f(med(wall))} cases/s wall, request to downloaded file, one export at a time`);

  // ---- forms exported per second per worker core: the domain holding the most forms (a form's answers are read from
  // its XML in object storage, so forms cost more than cases) ----
  const most = (
    await pool.query<{ domain: string; n: number }>(
      'select domain, count(*)::int as n from form_processor_xforminstancesql where state = 1 group by domain order by 2 desc limit 1',
    )
  ).rows[0];
  if (most && most.n >= 100) {
    const owner = await testWebUser(pool, most.domain);
    const cpu0 = celeryCpuSeconds();
    const r = await exportAndDownload(base, most.domain, owner.basic, 'form', { pollMs: 500 });
    const cpu = celeryCpuSeconds() - cpu0;
    console.log(
      `form export: ${f(r.status.progress.total / cpu)} forms per celery CPU second (${r.status.progress.total} forms of ${most.domain} in ${r.elapsedMs} ms, ${f(cpu)} CPU s)`,
    );
  } else {
    console.log('form export: not measured (no domain with 100 forms on this stack: run a scenario first)');
  }

  // ---- data API page at 1,000 forms ----
  const sample = await es.search({ index: 'xforms', size: 1, query: { term: { doc_type: 'XFormInstance' } } }).catch(() => undefined);
  const src = (sample?.hits.hits[0]?._source as Record<string, unknown> | undefined) ?? {
    xmlns: 'http://openrosa.org/formdesigner/bench',
    app_id: 'bench',
    user_id: 'bench-user',
    doc_type: 'XFormInstance',
    form: {
      '@name': 'Bench',
      question1: 'yes',
      question2: '42',
      group: { q3: 'a', q4: 'b' },
      meta: { instanceID: 'x', userID: 'bench-user', timeStart: '2026-01-01T00:00:00Z' },
    },
  };
  process.stderr.write(
    `[bench] ${nForms} form documents (${sample?.hits.hits.length ? 'copies of an indexed form' : 'synthetic'}, ${JSON.stringify(src).length} B each)\n`,
  );
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < nForms; i += 2000) {
    const ops: object[] = [];
    for (let j = i; j < Math.min(nForms, i + 2000); j++) {
      const id = `${domain}-form-${j}`;
      ops.push(
        { index: { _index: 'xforms', _id: id } },
        {
          ...src,
          doc_id: id,
          domain,
          doc_type: 'XFormInstance',
          received_on: new Date(t0 + j).toISOString(),
          inserted_at: new Date(t0 + j).toISOString(),
        },
      );
    }
    await es.bulk({ operations: ops, refresh: false });
  }
  await es.indices.refresh({ index: 'xforms' });
  const auth = user.apiKey;
  const cursorMs: number[] = [];
  let served = 0;
  for (let p = 0; p < passes; p++) {
    let at: string | undefined = `/a/${domain}/api/v0.5/form/?order_by=indexed_on&limit=1000`;
    served = 0;
    while (at) {
      const page = await apiPages(base, at, auth, 1);
      if (!page.objects.length) break;
      served += page.objects.length;
      cursorMs.push(page.ms);
      at = page.next;
    }
  }
  const offsetMs: number[] = [];
  for (let p = 0; p < passes; p++) {
    for (let off = 0; off + 1000 <= Math.min(nForms, 10_000); off += 1000)
      offsetMs.push((await apiPages(base, `/a/${domain}/api/v0.5/form/?limit=1000&offset=${off}`, auth, 1)).ms);
  }
  console.log(
    `data API, 1,000 forms a page, indexed_on cursor: p50 ${f(percentile(cursorMs, 50))} ms, p95 ${f(percentile(cursorMs, 95))} ms (${cursorMs.length} pages; ${served} forms a pass)`,
  );
  console.log(
    `data API, 1,000 forms a page, limit/offset:      p50 ${f(percentile(offsetMs, 50))} ms, p95 ${f(percentile(offsetMs, 95))} ms (${offsetMs.length} pages)`,
  );
} finally {
  await es.deleteByQuery({ index: 'xforms', query: { term: { domain } }, refresh: true }).catch(() => undefined);
  await pool.query('delete from form_processor_commcarecasesql where domain = $1', [domain]);
  await pool.end();
}
