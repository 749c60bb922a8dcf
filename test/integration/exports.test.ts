// Exports and the data API on the real local stack: a case and a form export run through RabbitMQ, a celery worker,
// Redis and object storage, and their files hold as many rows as PostgreSQL; a data API client paging by
// indexed_on sees every form exactly once while submissions go on.
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import type pg from 'pg';
import type { StackContext } from '../../stack/component.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { createPool, ensureMobileWorkers } from '../../hq/index.ts';
import { accountsOf, populationFor, postGenerated } from '../support/post-forms.ts';
import { ensureStackUp } from './stack-fixture.ts';
import { apiPages, exportAndDownload, testWebUser, waitFor } from '../support/export-client.ts';

describe('exports and the data API', { timeout: 900_000 }, () => {
  let ctx: StackContext;
  let pool: pg.Pool;
  let base: string;
  const domain = `ex-${randomUUID().slice(0, 8)}`;
  let user: Awaited<ReturnType<typeof testWebUser>>;
  let basic: string;

  before(async () => {
    ctx = await ensureStackUp();
    pool = createPool(postgresUrl(ctx), 4);
    base = nginxUrl(ctx);
    user = await testWebUser(pool, domain);
    basic = user.basic;
  });
  after(async () => {
    await pool.end();
  });

  const count = async (sql: string) => Number((await pool.query(sql, [domain])).rows[0].n);

  it('refuses the API without credentials or with a wrong key, in one JSON line', async () => {
    const none = await fetch(`${base}/a/${domain}/api/v0.5/form/`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${base}/a/${domain}/api/v0.5/form/`, { headers: { Authorization: `ApiKey ${user.username}:nope` } });
    assert.equal(wrong.status, 401);
    const bad = await fetch(`${base}/a/${domain}/api/v0.5/form/?limit=x`, { headers: { Authorization: basic } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^\{"error":"limit must be a whole number"\}$/);
  });

  it('pages every form exactly once by indexed_on while submissions go on, then exports rows equal to PostgreSQL', async (t) => {
    // a seed of its own: case ids come from the seed, and a case belongs to the domain that created it first
    const pop = populationFor(domain, 10, randomInt(1, 2 ** 31 - 1));
    await ensureMobileWorkers(pool, domain, accountsOf(pop));
    const auth = user.apiKey;
    // submissions for ~40 s while an API client pages the form list with limit 50
    const posting = postGenerated({
      baseUrl: base,
      domain,
      population: pop,
      count: 600,
      concurrency: 4,
      maxDurationMs: 40_000,
      ratePerSec: 15,
    });
    const seen = new Map<string, number>();
    let next: string | undefined = `/a/${domain}/api/v0.5/form/?order_by=indexed_on&limit=50`;
    let pagesWhilePosting = 0;
    let done = false;
    void posting.finally(() => {
      done = true;
    });
    while (!done) {
      const r = await apiPages(base, next!, auth, 1);
      for (const o of r.objects) seen.set(o.id, (seen.get(o.id) ?? 0) + 1);
      next = r.next ?? next;
      pagesWhilePosting++;
      if (r.objects.length < 50) await new Promise((res) => setTimeout(res, 500));
    }
    const posted = await posting;
    assert.equal(posted.givenUp.length, 0);
    const inPg = await count('select count(*)::int as n from form_processor_xforminstancesql where domain = $1 and state = 1');
    // after the pillows caught up and the settle window passed, the same cursor picks up the rest
    await waitFor(
      'every form served',
      async () => {
        for (;;) {
          const r = await apiPages(base, next!, auth, 1);
          for (const o of r.objects) seen.set(o.id, (seen.get(o.id) ?? 0) + 1);
          next = r.next ?? next;
          if (r.objects.length === 0) break;
        }
        return seen.size >= inPg ? true : undefined;
      },
      120_000,
    );
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no form served twice');
    assert.equal(seen.size, inPg);
    for (const a of posted.acks) assert.ok(seen.has(a.formId), `form ${a.formId} served`);
    assert.ok(pagesWhilePosting > 3, `paged while posting (${pagesWhilePosting} pages)`);
    t.diagnostic(
      `${seen.size} forms (${posted.acks.length} acknowledged in ${Math.round(posted.elapsedMs / 1000)} s), each served once; ${pagesWhilePosting} pages while posting`,
    );

    // limit/offset paging and meta as HQ gives them
    const first = (await fetch(`${base}/a/${domain}/api/v0.5/form/?limit=7`, { headers: { Authorization: basic } }).then((r) =>
      r.json(),
    )) as {
      meta: { limit: number; next: string | null; offset: number; previous: string | null; total_count: number };
      objects: { id: string; form: object; received_on: string; metadata: { userID: string } }[];
    };
    assert.equal(first.meta.total_count, inPg);
    assert.equal(first.meta.limit, 7);
    assert.equal(first.objects.length, 7);
    assert.match(first.meta.next ?? '', /offset=7/);
    assert.ok(first.objects[0]!.form && first.objects[0]!.received_on && first.objects[0]!.metadata.userID);

    // the case list: every case once
    const casesInPg = await count('select count(*)::int as n from form_processor_commcarecasesql where domain = $1 and not deleted');
    assert.ok(casesInPg > 100, `the forms opened cases (${casesInPg})`);
    const cases = new Map<string, number>();
    await waitFor(
      'every case served',
      async () => {
        cases.clear();
        let at: string | undefined = `/a/${domain}/api/v0.5/case/?order_by=indexed_on&limit=1000`;
        while (at) {
          const r = await apiPages(base, at, auth, 1);
          for (const o of r.objects) cases.set(o.id, (cases.get(o.id) ?? 0) + 1);
          at = r.objects.length ? (r.next ?? undefined) : undefined;
        }
        return cases.size >= casesInPg ? true : undefined;
      },
      120_000,
    );
    assert.equal(cases.size, casesInPg);
    assert.deepEqual(
      [...cases].filter(([, n]) => n > 1),
      [],
    );

    // exports: as many rows as PostgreSQL holds (header row aside)
    for (const kind of ['case', 'form'] as const) {
      const { file, polls, status } = await exportAndDownload(base, domain, basic, kind);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(file as unknown as Parameters<typeof wb.xlsx.load>[0]);
      const rows = wb.worksheets[0]!.actualRowCount - 1;
      const expected = kind === 'case' ? casesInPg : inPg;
      assert.equal(rows, expected, `${kind} export rows`);
      assert.equal(status.progress.total, expected);
      assert.ok(polls >= 1);
      t.diagnostic(`${kind} export: ${rows} rows, ${polls} polls, ${(file.length / 1024).toFixed(0)} KB`);
    }
  });
});
