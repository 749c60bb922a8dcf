// Issue 14: client input the service answered with a 500 (or let through), on the real local stack.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { StackContext } from '../../stack/component.ts';
import { blobRoot } from '../../stack/components/hq.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { audit } from '../../hq/audit.ts';
import { BlobStore } from '../../hq/blobs.ts';
import { createPool } from '../../hq/db.ts';
import { auditSources } from '../../cli/commands/audit.ts';
import { fakeResults } from '../support/fake-results.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { ensureLoginAsUser, ensureMobileWorkers, type MobileWorkerAccount } from '../../hq/users.ts';
import { ensureStackUp } from './stack-fixture.ts';

const auth = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const CASE_NS = 'http://commcarehq.org/case/transaction/v2';

/** A form creating one case owned by `owner`, with `note` as a case property (XML text as given). */
export function formXml(opts: { instanceId?: string; caseId?: string; owner: string; note?: string; prolog?: string }): string {
  return (
    `${opts.prolog ?? '<?xml version="1.0"?>'}<data xmlns="http://example.org/it-bad-input"><meta xmlns="http://openrosa.org/jr/xforms">` +
    `<instanceID>${opts.instanceId ?? randomUUID()}</instanceID><userID>${opts.owner}</userID></meta>` +
    `<case xmlns="${CASE_NS}" case_id="${opts.caseId ?? randomUUID()}" user_id="${opts.owner}"><create><case_type>t</case_type>` +
    `<case_name>n</case_name><owner_id>${opts.owner}</owner_id></create><update><note>${opts.note ?? 'x'}</note></update></case></data>`
  );
}

export function multipart(parts: { name: string; filename?: string; type: string; data: string | Buffer }[]): {
  body: Buffer;
  contentType: string;
} {
  const b = `----it${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const fn = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    chunks.push(
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${p.name}"${fn}\r\nContent-Type: ${p.type}\r\n\r\n`),
      Buffer.from(p.data),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${b}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${b}` };
}

describe('the service answers bad client input as HQ does, never with a 500', { timeout: 300_000 }, () => {
  let ctx: StackContext;
  let pool: pg.Pool;
  let base: string;
  const domain = `it-bad-${randomUUID().slice(0, 8)}`;
  const w1: MobileWorkerAccount = { username: 'w1', userId: randomUUID().replaceAll('-', ''), password: `pw-${randomUUID()}` };
  const w2: MobileWorkerAccount = { username: 'w2', userId: randomUUID().replaceAll('-', ''), password: `pw-${randomUUID()}` };
  const loadTester: MobileWorkerAccount = {
    username: 'load.tester',
    userId: randomUUID().replaceAll('-', ''),
    password: `pw-${randomUUID()}`,
  };

  before(async () => {
    ctx = await ensureStackUp();
    pool = createPool(postgresUrl(ctx), 2);
    base = nginxUrl(ctx);
    await ensureMobileWorkers(pool, domain, [w1, w2]);
    await ensureLoginAsUser(pool, domain, loadTester);
  });
  after(async () => {
    await pool.end();
  });

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}/a/${domain}/receiver/`, {
      method: 'POST',
      headers: { Authorization: auth(w1.username, w1.password), 'X-OpenRosa-Version': '3.0', ...headers },
      body,
    });
  const restore = (query: string, user = w1) =>
    fetch(`${base}/a/${domain}/phone/restore/?version=2.0&device_id=it&${query}`, {
      headers: { Authorization: auth(user.username, user.password) },
    });
  const stored = async (formId: string) =>
    (await pool.query('select blob_key from form_processor_xforminstancesql where form_id = $1', [formId])).rows[0] as
      { blob_key: string } | undefined;

  it('an instanceID with "/" or "..": 201 and stored under that id (the blob key is made safe)', async () => {
    for (const id of [`a/b/${randomUUID()}`, `../../${randomUUID()}`, `${randomUUID()}/..`, `x`.repeat(200) + randomUUID()]) {
      const res = await post(formXml({ instanceId: id, owner: w1.userId }));
      assert.equal(res.status, 201, `${id}: ${await res.text()}`);
      assert.equal(res.headers.get('x-commcarehq-formid'), id);
      const row = await stored(id);
      assert.ok(row && !row.blob_key.includes('..') && row.blob_key.split('/').length === 3, `${id}: ${row?.blob_key}`);
    }
  });

  it('an instanceID longer than HQ keeps (255): 422 processing_failure, not a 500', async () => {
    const res = await post(formXml({ instanceId: 'i'.repeat(3000), owner: w1.userId }));
    assert.equal(res.status, 422);
    assert.match(await res.text(), /processing_failure.*instanceID is 3000 characters/s);
  });

  it('an attachment named photo..jpg (or ../x, or .hidden): 201, stored under a safe name', async () => {
    const instanceId = randomUUID();
    const mp = multipart([
      { name: 'xml_submission_file', filename: 'form.xml', type: 'text/xml', data: formXml({ instanceId, owner: w1.userId }) },
      { name: 'photo', filename: 'photo..jpg', type: 'image/jpeg', data: Buffer.from([0xff, 0xd8, 0xff, 0x00]) },
      { name: 'p2', filename: '....', type: 'image/jpeg', data: 'x' },
    ]);
    const res = await post(mp.body, { 'Content-Type': mp.contentType });
    assert.equal(res.status, 201, await res.text());
    const row = (await pool.query('select attachment_count from form_processor_xforminstancesql where form_id = $1', [instanceId])).rows[0];
    assert.equal(Number(row?.attachment_count), 2);
  });

  it('a file part with an empty filename is kept as an attachment (named after its part), byte for byte', async () => {
    const instanceId = randomUUID();
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x80, 0x81]);
    const mp = multipart([
      { name: 'xml_submission_file', filename: 'form.xml', type: 'text/xml', data: formXml({ instanceId, owner: w1.userId }) },
      { name: 'photo', filename: '', type: 'image/jpeg', data: jpeg },
    ]);
    const res = await post(mp.body, { 'Content-Type': mp.contentType });
    assert.equal(res.status, 201, await res.text());
    const row = (
      await pool.query('select blob_key, attachment_count from form_processor_xforminstancesql where form_id = $1', [instanceId])
    ).rows[0];
    assert.equal(Number(row?.attachment_count), 1, 'the attachment was not dropped');
    const file = path.join(blobRoot(ctx), String(row.blob_key).replace(/form\.xml$/, 'photo'));
    assert.deepEqual(fs.readFileSync(file), jpeg);
  });

  it('restore ?since= with a NUL byte: 412 (an unknown token), not a 500', async () => {
    const res = await restore('since=ab%00cd');
    assert.equal(res.status, 412);
    assert.match(await res.text(), /ota_restore_error/);
    const dev = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0&device_id=a%00b`, {
      headers: { Authorization: auth(w1.username, w1.password) },
    });
    assert.equal(dev.status, 400);
  });

  it('a NUL in the basic-auth credentials: 401, not a 500', async () => {
    const res = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0`, { headers: { Authorization: auth('w1\0', 'x\0y') } });
    assert.equal(res.status, 401);
  });

  it('restore ?as=: refused to a mobile worker; allowed to the dedicated login-as web user; as yourself is fine', async () => {
    const caseId = randomUUID();
    assert.equal((await post(formXml({ caseId, owner: w2.userId }))).status, 201);
    const refused = await restore(`as=${w2.username}`);
    const body = await refused.text();
    assert.equal(refused.status, 401);
    assert.ok(!body.includes(caseId) && !body.includes('restore_id'), 'nothing of w2 is given to w1');
    assert.equal((await restore(`as=${w1.username}`)).status, 200);
    const allowed = await restore(`as=${w2.username}`, loadTester);
    assert.equal(allowed.status, 200);
    assert.ok((await allowed.text()).includes(caseId), "the load tester gets w2's cases");
    assert.equal((await restore('as=nobody', loadTester)).status, 401);
    assert.equal((await restore('as=a%00b', loadTester)).status, 401);
  });

  it('DTD internal entities: the form is refused (422), nothing expanded reaches a restore', async () => {
    const caseId = randomUUID();
    const xml = formXml({
      caseId,
      owner: w1.userId,
      note: '&hi;',
      prolog: '<?xml version="1.0"?><!DOCTYPE data [<!ENTITY hi "EXPANDED-ENTITY">]>',
    });
    const res = await post(xml);
    assert.equal(res.status, 422);
    assert.match(await res.text(), /DOCTYPE is not accepted/);
    const r = await (await restore('')).text();
    assert.ok(!r.includes('EXPANDED-ENTITY') && !r.includes(caseId));
    // without v3, HQ's 201 submit_error
    const old = await post(xml, { 'X-OpenRosa-Version': '' });
    assert.equal(old.status, 201);
    assert.match(await old.text(), /submit_error/);
  });

  it('malformed XML (invalid UTF-8, NUL, &#0;, undefined entity, undeclared prefix): 422, none stored', async () => {
    const bodies: [string, string | Buffer][] = [
      ['invalid UTF-8', Buffer.from(formXml({ owner: w1.userId, note: '\u00ff' }), 'latin1')],
      ['NUL', formXml({ owner: w1.userId, note: 'a\0b' })],
      ['&#0;', formXml({ owner: w1.userId, note: 'a&#0;b' })],
      ['undefined entity', formXml({ owner: w1.userId, note: '&foo;' })],
      ['undeclared prefix', formXml({ owner: w1.userId, note: '<q:x>1</q:x>' })],
    ];
    for (const [what, body] of bodies) {
      const res = await post(body);
      const text = await res.text();
      assert.equal(res.status, 422, `${what}: ${text}`);
      assert.match(text, /processing_failure/, what);
    }
  });

  it('the audit reports the refused submissions by status from the request log: not "nothing lost" while there are any', async () => {
    const lines: object[] = [];
    for (const body of [formXml({ owner: w1.userId }), formXml({ owner: w1.userId }), formXml({ owner: w1.userId, note: '&undefined;' })]) {
      const res = await post(body);
      const ok = res.status === 201 && (await res.text()).includes('submit_success');
      lines.push({
        e: 'receiver',
        t: Date.now(),
        d: 1,
        s: res.status,
        ok: ok ? 1 : 0,
        w: 0,
        form: 'f',
        ...(ok ? { ack: res.headers.get('x-commcarehq-formid') } : {}),
      });
    }
    const { acknowledged, refused } = await auditSources({ results: fakeResults(lines) });
    const report = await audit({
      pool,
      blobs: new BlobStore(blobRoot(ctx)),
      esUrl: elasticsearchUrl(ctx),
      kafkaBrokers: [kafkaBroker(ctx)],
      acknowledged,
      refused,
      waitMs: 60_000,
    });
    assert.equal(report.acknowledged, 2);
    assert.deepEqual(report.missingInPostgres, []);
    assert.deepEqual(report.refused, { sent: 3, refused: 1, byStatus: { '422': 1 } });
    assert.equal(report.ok, false, 'a refused form is not in HQ: the audit must not say nothing lost');
  });

  it('the web log holds no stack trace from any of it', () => {
    const logs = fs
      .readdirSync(ctx.paths.logs)
      .filter((f) => f.startsWith('web'))
      .map((f) => fs.readFileSync(path.join(ctx.paths.logs, f), 'utf8'));
    for (const log of logs) assert.ok(!log.includes(domain), `a failure of ${domain} was logged`);
  });
});
