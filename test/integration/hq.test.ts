// The HQ-compatible service on the real local stack: the receiver's answers, case processing, restores,
// pillows into Elasticsearch and the UCR table, and an audit with nothing lost.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as EsClient } from '@elastic/elasticsearch';
import type pg from 'pg';
import { readRestoreResponse } from '../../generators/requests.ts';
import type { StackContext } from '../../stack/component.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { blobRoot } from '../../stack/components/hq.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { audit, BlobStore, createPool, ensureMobileWorkers, type MobileWorkerAccount } from '../../hq/index.ts';
import { accountsOf, populationFor, postGenerated } from '../support/post-forms.ts';
import { ensureStackUp } from './stack-fixture.ts';

const fixtureDir = path.resolve(import.meta.dirname, '..', 'fixtures', 'submissions');
// the form id a fixture carries: instanceID, or uid in old capitalised meta
const formIdOf = (xml: string) => /<(?:\w+:)?(?:instanceID|uid)>([^<]+)</.exec(xml)?.[1];

const auth = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('HQ-compatible service', { timeout: 600_000 }, () => {
  let ctx: StackContext;
  let pool: pg.Pool;
  let es: EsClient;
  let base: string;
  const domain = `it-${randomUUID().slice(0, 8)}`;
  // Owners and users named in test/fixtures/submissions, as mobile workers of this domain.
  const fixtureUsers: MobileWorkerAccount[] = [
    { username: 'stock.keeper', userId: '1b16d7c50a834cfe9d05139da805cfae', password: 'pw-stock' },
    { username: 'chw.amina', userId: '4a4ebb43944c4d7f8e489719ede0c433', password: 'pw-chw' },
    { username: 'web.apps', userId: '6f068a50b3e54c188e63d9d590e356cc', password: 'pw-web' },
  ];
  const poster = fixtureUsers[0]!;

  before(async () => {
    ctx = await ensureStackUp();
    pool = createPool(postgresUrl(ctx), 4);
    es = new EsClient({ node: elasticsearchUrl(ctx) });
    base = nginxUrl(ctx);
    await ensureMobileWorkers(pool, domain, fixtureUsers);
    // The fixtures carry fixed form and case ids: forget them from earlier runs on this stack so this run
    // sees them as new (form and case ids are global, as in HQ).
    const xmls = fs
      .readdirSync(fixtureDir)
      .filter((f) => f.endsWith('.xml'))
      .map((f) => fs.readFileSync(path.join(fixtureDir, f), 'utf8'));
    const caseIds = xmls.flatMap((x) => [...x.matchAll(/case_id="([^"]+)"/g)].map((m) => m[1]!));
    const formIds = xmls.map(formIdOf).filter((id): id is string => id !== undefined);
    await pool.query('delete from form_processor_casetransaction where case_id = any($1) or form_id = any($2)', [caseIds, formIds]);
    await pool.query('delete from form_processor_commcarecaseindexsql where case_id = any($1)', [caseIds]);
    await pool.query('delete from form_processor_ledgervalue where case_id = any($1)', [caseIds]);
    await pool.query('delete from form_processor_commcarecasesql where case_id = any($1)', [caseIds]);
    await pool.query('delete from form_processor_xforminstancesql where form_id = any($1) or orig_id = any($1)', [formIds]);
  });
  after(async () => {
    await pool.end();
  });

  const post = (body: string | Buffer, headers: Record<string, string> = {}, user = poster) =>
    fetch(`${base}/a/${domain}/receiver/`, {
      method: 'POST',
      headers: { Authorization: auth(user.username, user.password), 'X-OpenRosa-Version': '3.0', ...headers },
      body,
    });

  it('accepts every submission fixture with 201 submit_success and the form id, and stores its cases and ledgers', async () => {
    const files = fs
      .readdirSync(fixtureDir)
      .filter((f) => f.endsWith('.xml'))
      .sort();
    assert.equal(files.length, 5);
    const ids: Record<string, string> = {};
    for (const f of files) {
      const res = await post(fs.readFileSync(path.join(fixtureDir, f)));
      const body = await res.text();
      assert.equal(res.status, 201, `${f}: ${body}`);
      assert.match(body, /<message nature="submit_success">/);
      ids[f] = res.headers.get('x-commcarehq-formid') ?? '';
      assert.ok(ids[f], `${f} has X-CommCareHQ-FormID`);
    }
    // HQ keeps the phone's instanceID (uid in old meta) as the form id
    for (const f of files) {
      const formId = formIdOf(fs.readFileSync(path.join(fixtureDir, f), 'utf8'));
      if (formId) assert.equal(ids[f], formId, f);
    }
    const cases = await pool.query(
      'select case_id, type, name, closed, case_json from form_processor_commcarecasesql where domain = $1 order by case_id',
      [domain],
    );
    const byId = new Map(cases.rows.map((r) => [r.case_id, r]));
    // old-meta-ledger: the requisition closed by its second block, the supply point open with two stock balances
    assert.equal(byId.get('0e64c271-9297-476b-86c1-4895689e1e67')?.closed, true);
    assert.equal(byId.get('1191bcfb-ba98-4ad8-bcf1-b333d359f456')?.type, 'supply-point');
    const ledger = await pool.query(
      "select entry_id, balance from form_processor_ledgervalue where domain = $1 and section_id = 'stock' and case_id = $2 order by entry_id",
      [domain, '1191bcfb-ba98-4ad8-bcf1-b333d359f456'],
    );
    assert.deepEqual(
      ledger.rows.map((r) => [r.entry_id, Number(r.balance)]),
      [
        ['ors-sachet', 135],
        ['zinc-20mg', 0],
      ],
    );
    // index-no-meta: both indices are stored
    const idx = await pool.query(
      'select identifier, referenced_id from form_processor_commcarecaseindexsql where domain = $1 order by identifier',
      [domain],
    );
    assert.deepEqual(
      idx.rows.map((r) => [r.identifier, r.referenced_id]),
      [
        ['facility', 'capacity-clinic-0003'],
        ['household', 'capacity-household-0007'],
      ],
    );
    // bom-utf8: the case name survives the BOM and the UTF-8 decoding
    assert.equal(byId.get('5931e5b8-cd12-4d89-9e82-e75c3850dc54')?.name, 'Zoë Ngũgĩ');
    assert.equal(byId.get('5931e5b8-cd12-4d89-9e82-e75c3850dc54')?.case_json?.market, 'Łódź Bałuty');
    // the pillows index the forms and cases
    const formIds = Object.values(ids);
    await waitFor('fixture forms in xforms', async () => {
      await es.indices.refresh({ index: 'xforms' });
      const r = await es.mget({ index: 'xforms', ids: formIds, _source: false });
      return r.docs.every((d) => 'found' in d && d.found) ? true : undefined;
    });
    await waitFor('fixture cases in hqcases', async () => {
      await es.indices.refresh({ index: 'hqcases' });
      const r = await es.count({ index: 'hqcases', query: { term: { domain } } });
      return r.count === cases.rows.length ? true : undefined;
    });
  });

  it("serves the fixture cases in their owners' restores", async () => {
    const owner = fixtureUsers[1]!; // owner of the household case in prefixed-meta.xml
    const res = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0&device_id=it`, {
      headers: { Authorization: auth(owner.username, owner.password) },
    });
    const body = await res.text();
    assert.equal(res.status, 200);
    const parsed = readRestoreResponse(res.status, body);
    assert.equal(parsed.nature, 'ota_restore_success');
    assert.ok(parsed.restoreId);
    const owned = await pool.query(
      'select case_id from form_processor_commcarecasesql where domain = $1 and owner_id = $2 and not closed',
      [domain, owner.userId],
    );
    assert.ok(owned.rows.length >= 1);
    assert.deepEqual([...(parsed.caseIds ?? [])].sort(), owned.rows.map((r) => r.case_id).sort());
  });

  it('answers as HQ does: 401, 400, 413, 422 with v3, 201 submit_error without, duplicates and edits', async () => {
    const xml = fs
      .readFileSync(path.join(fixtureDir, 'meta-after-case.xml'), 'utf8')
      .replace(/<instanceID>[^<]*</, `<instanceID>${randomUUID()}<`);
    assert.equal((await post(xml, {}, { ...poster, password: 'wrong' })).status, 401);
    assert.equal((await post('')).status, 400);
    assert.equal((await post(Buffer.alloc(10 * 1024 * 1024 + 10, 32))).status, 413);
    const bad = await post('<data><unclosed></data>');
    assert.equal(bad.status, 422);
    assert.match(await bad.text(), /nature="processing_failure"/);
    const old = await post('<data><unclosed></data>', { 'X-OpenRosa-Version': '' });
    assert.equal(old.status, 201);
    assert.match(await old.text(), /nature="submit_error"/);

    const instanceId = randomUUID();
    const form = (v: string) =>
      `<data xmlns="http://openrosa.org/formdesigner/it"><q>${v}</q><meta xmlns="http://openrosa.org/jr/xforms"><instanceID>${instanceId}</instanceID><userID>${poster.userId}</userID></meta></data>`;
    const first = await post(form('a'));
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('x-commcarehq-formid'), instanceId);
    const dup = await post(form('a'));
    assert.equal(dup.status, 201);
    assert.notEqual(dup.headers.get('x-commcarehq-formid'), instanceId);
    const edit = await post(form('b'));
    assert.equal(edit.status, 201);
    assert.equal(edit.headers.get('x-commcarehq-formid'), instanceId);
    const states = await pool.query(
      'select state, orig_id from form_processor_xforminstancesql where form_id = $1 or orig_id = $1 order by state',
      [instanceId],
    );
    assert.deepEqual(
      states.rows.map((r) => r.state),
      [1, 4, 32],
    ); // normal, duplicate, deprecated
  });

  it('a form whose blob is gone is recorded as a pillow error and does not hold up the forms behind it', async () => {
    const ghost = randomUUID();
    // a form row and its change, with no blob behind it (as if object storage lost it)
    await pool.query(
      `insert into form_processor_xforminstancesql (form_id, domain, xmlns, received_on, xml_md5, xml_size, blob_key)
       values ($1, $2, 'http://openrosa.org/formdesigner/ghost', now(), 'x', 1, $3)`,
      [ghost, domain, `${domain}/missing/${ghost}.form.xml`],
    );
    await pool.query(`insert into hq_change_outbox (topic, doc_id, payload) values ('form-sql', $1, $2)`, [
      ghost,
      { document_id: ghost, document_type: 'XFormInstance', domain },
    ]);
    await pool.query(`notify hq_outbox`).catch(() => undefined);
    const after = randomUUID();
    const res = await post(
      `<data xmlns="http://openrosa.org/formdesigner/it"><meta xmlns="http://openrosa.org/jr/xforms"><instanceID>${after}</instanceID></meta></data>`,
    );
    assert.equal(res.status, 201);
    await waitFor('the form after the ghost in xforms', async () => {
      const r = await es.mget({ index: 'xforms', ids: [after], _source: false, realtime: true });
      return r.docs.every((d) => 'found' in d && d.found) ? true : undefined;
    });
    const err = await waitFor('the ghost recorded as a pillow error', async () => {
      const r = await pool.query('select error from hq_pillow_error where doc_id = $1', [ghost]);
      return r.rows[0]?.error as string | undefined;
    });
    assert.match(err, /blob missing/);
  });

  it('carries generated traffic: restores match the generator, incremental sync sends only changes, audit finds nothing lost', async () => {
    // A fresh seed per run: generated ids (users, forms, cases) derive from the seed, and ids are global.
    const pop = populationFor(domain, 4, Math.floor(Math.random() * 1e9));
    await ensureMobileWorkers(pool, domain, accountsOf(pop));
    const run = await postGenerated({ baseUrl: base, domain, population: pop, count: 120, concurrency: 4, maxDurationMs: 120_000 });
    assert.equal(run.givenUp.length, 0);
    assert.equal(run.acks.length, 120);
    // What each worker should hold: cases created by its forms and not closed since.
    const open = new Map<number, Set<string>>();
    for (const s of run.submissions) {
      const set = open.get(s.worker) ?? new Set<string>();
      for (const c of s.cases) {
        if (c.create) set.add(c.caseId);
        if (c.close) set.delete(c.caseId);
      }
      open.set(s.worker, set);
    }
    const users = pop.users();
    for (const [w, expected] of open) {
      const u = users[w]!;
      const res = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0&device_id=${u.deviceId}`, {
        headers: { Authorization: auth(u.login, u.password) },
      });
      const parsed = readRestoreResponse(res.status, await res.text());
      assert.deepEqual([...(parsed.caseIds ?? [])].sort(), [...expected].sort(), `worker ${w} restore`);
      // nothing changed since: an incremental restore carries no cases; an unknown token is 412
      const inc = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0&since=${parsed.restoreId}`, {
        headers: { Authorization: auth(u.login, u.password) },
      });
      assert.equal(readRestoreResponse(inc.status, await inc.text()).caseCount, 0);
      const stale = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0&since=deadbeef`, {
        headers: { Authorization: auth(u.login, u.password) },
      });
      assert.equal(stale.status, 412);
    }
    const report = await audit({
      pool,
      blobs: new BlobStore(blobRoot(ctx)),
      esUrl: elasticsearchUrl(ctx),
      kafkaBrokers: [kafkaBroker(ctx)],
      acknowledged: run.acks.map((a) => a.formId),
      waitMs: 120_000,
    });
    assert.equal(report.acknowledged, 120);
    assert.deepEqual(
      [report.missingInPostgres, report.missingBlobs, report.missingInXforms, report.missingCasesInHqcases, report.missingInUcr],
      [[], [], [], [], []],
    );
  });
});
