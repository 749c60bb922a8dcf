// Fuzz (issue 14): a few hundred generated malformed and hostile submissions posted to the receiver of the real
// local stack, raw and multipart, with and without OpenRosa v3. Every answer must be one HQ gives (201
// submit_success; with v3 422 processing_failure, without it 201 submit_error; 400; 413), never a 500, never a hang;
// no entity is ever expanded into stored data, and the service is still healthy afterwards.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type pg from 'pg';
import type { StackContext } from '../../stack/component.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { createPool } from '../../hq/db.ts';
import { ensureMobileWorkers, type MobileWorkerAccount } from '../../hq/users.ts';
import { EXPANDED, formText, hostileBody, type HostileBody } from '../support/hostile-submissions.ts';
import { ensureStackUp } from './stack-fixture.ts';

const RUNS = Number(process.env.CAPACITY_FUZZ_RUNS ?? 300);
/** One answer; a hang fails the run instead of stalling the suite. */
const ANSWER_MS = 15_000;

interface Shape {
  v3: boolean;
  multipart: boolean;
  /** multipart: attachment file names (hostile), '' is a part with an empty filename */
  attachments: string[];
}

const shape: fc.Arbitrary<Shape> = fc.record({
  v3: fc.boolean(),
  multipart: fc.boolean(),
  attachments: fc.array(
    fc.oneof(
      fc.constantFrom('', 'photo..jpg', '../../x', '.hidden', 'form.xml', 'a/b\\c', '\u0000', 'x'.repeat(500)),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    ),
    { maxLength: 3 },
  ),
});

function multipartBody(xml: string | Uint8Array, names: string[]): { body: Buffer; contentType: string } {
  const b = `----fuzz${randomUUID()}`;
  const part = (name: string, filename: string, type: string, data: Buffer) =>
    Buffer.concat([
      Buffer.from(
        `--${b}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename.replace(/["\r\n]/g, '_')}"\r\nContent-Type: ${type}\r\n\r\n`,
      ),
      data,
      Buffer.from('\r\n'),
    ]);
  return {
    body: Buffer.concat([
      part('xml_submission_file', 'form.xml', 'text/xml', Buffer.from(xml)),
      ...names.map((n, i) => part(`att${i}`, n, 'image/jpeg', Buffer.from([0xff, 0xd8, i]))),
      Buffer.from(`--${b}--\r\n`),
    ]),
    contentType: `multipart/form-data; boundary=${b}`,
  };
}

describe('receiver fuzz on the real local stack', { timeout: 600_000 }, () => {
  let ctx: StackContext;
  let pool: pg.Pool;
  let base: string;
  const domain = `it-fuzz-${randomUUID().slice(0, 8)}`;
  const worker: MobileWorkerAccount = { username: 'fuzz', userId: 'fuzz-owner', password: `pw-${randomUUID()}` };
  const statuses: Record<string, number> = {};

  before(async () => {
    ctx = await ensureStackUp();
    pool = createPool(postgresUrl(ctx), 2);
    base = nginxUrl(ctx);
    await ensureMobileWorkers(pool, domain, [worker]);
  });
  after(async () => {
    await pool.end();
  });

  async function post(h: HostileBody, s: Shape): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = {
      Authorization: `Basic ${Buffer.from(`${worker.username}:${worker.password}`).toString('base64')}`,
    };
    if (s.v3) headers['X-OpenRosa-Version'] = '3.0';
    let body: Uint8Array | string = h.body;
    if (s.multipart) {
      const mp = multipartBody(h.body, s.attachments);
      body = mp.body;
      headers['Content-Type'] = mp.contentType;
    } else {
      headers['Content-Type'] = 'text/xml';
    }
    const res = await fetch(`${base}/a/${domain}/receiver/`, { method: 'POST', headers, body, signal: AbortSignal.timeout(ANSWER_MS) });
    return { status: res.status, body: await res.text() };
  }

  it(`${RUNS} hostile submissions: only answers HQ gives, no 500, no hang`, async () => {
    const t = Date.now();
    await fc.assert(
      fc.asyncProperty(hostileBody, shape, async (h, s) => {
        const { status, body } = await post(h, s).catch((err: unknown) => {
          throw new Error(`${h.what}: no answer (${String(err)})`);
        });
        const nature = /nature="([^"]+)"/.exec(body)?.[1];
        const key = `${status} ${nature ?? ''}`.trim();
        statuses[key] = (statuses[key] ?? 0) + 1;
        const where = `${h.what} (${s.v3 ? 'v3' : 'no v3'}, ${s.multipart ? `multipart ${JSON.stringify(s.attachments)}` : 'raw'}): ${status} ${body.slice(0, 300)}`;
        const empty = (typeof h.body === 'string' ? h.body.length : h.body.byteLength) === 0;
        const allowed = s.v3
          ? ['201 submit_success', '422 processing_failure', '400 submit_error']
          : ['201 submit_success', '201 submit_error', '400 submit_error'];
        if (!allowed.includes(key)) process.stderr.write(`receiver fuzz: not an answer HQ gives: ${where}\n`);
        assert.ok(allowed.includes(key), where);
        // a control character in a part header makes the multipart body itself malformed: 400, as Django answers
        const badMultipart = s.multipart && s.attachments.some((n) => /[\u0000-\u001f\u007f]/.test(n));
        if (badMultipart) return;
        const refusedAs = s.v3 ? '422 processing_failure' : '201 submit_error';
        if (h.expect === 'refuse' && !empty) assert.equal(key, refusedAs, where);
        if (h.expect === 'accept') assert.equal(key, '201 submit_success', where);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    process.stderr.write(`receiver fuzz: ${RUNS} submissions in ${Math.round((Date.now() - t) / 1000)} s: ${JSON.stringify(statuses)}\n`);
  });

  it('nothing expanded was stored, and the service is still healthy', async () => {
    const hits = await pool.query(
      `select count(*)::int as n from form_processor_commcarecasesql where domain = $1 and (case_json::text like $2 or coalesce(name, '') like $2)`,
      [domain, `%${EXPANDED}%`],
    );
    assert.equal(hits.rows[0].n, 0);
    // a plain form still goes through every web worker (nginx spreads them)
    for (let i = 0; i < 6; i++) {
      const ok = await post(
        {
          what: 'plain',
          expect: 'accept',
          body: formText({
            instanceId: randomUUID(),
            caseId: randomUUID(),
            owner: worker.userId,
            note: 'after the fuzz',
            dateModified: '2024-01-01',
            quantity: '1',
          }),
        },
        { v3: true, multipart: false, attachments: [] },
      );
      assert.equal(ok.status, 201, ok.body);
    }
    const logs = fs
      .readdirSync(ctx.paths.logs)
      .filter((f) => f.startsWith('web'))
      .map((f) => fs.readFileSync(path.join(ctx.paths.logs, f), 'utf8'));
    for (const log of logs) assert.ok(!log.includes(`/a/${domain}/`), `the web log has a failure of ${domain}`);
  });
});
