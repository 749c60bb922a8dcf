import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Population } from './population.ts';
import { parseMultipart } from './multipart.ts';
import { readRestoreResponse, readSubmitResponse, restoreUrl, RestoreSession, submissionRequest } from './requests.ts';
import { builtin } from './testing.ts';

const target = { baseUrl: 'http://hq.example.org/', domain: 'demo' };
const pop = new Population(builtin('household'), { users: 2, seed: 1, domain: 'demo' });
const user = pop.user(0);

const restoreBody = (
  token: string,
  cases: string[],
) => `<OpenRosaResponse xmlns="http://openrosa.org/http/response" items="${cases.length + 2}">
  <message nature="ota_restore_success">Successfully restored account mw0000!</message>
  <Sync xmlns="http://commcarehq.org/sync"><restore_id>${token}</restore_id></Sync>
  <Registration xmlns="http://openrosa.org/user/registration">
    <username>mw0000</username><password>sha1$abc</password><uuid>${user.userId}</uuid><date>2024-03-04</date>
    <user_data><data key="commcare_first_name"/></user_data>
  </Registration>
  <fixture id="user-groups" user_id="${user.userId}"><groups><group id="g1"><name>North</name></group></groups></fixture>
  <fixture id="item-list:villages" user_id="${user.userId}"><villages_list><villages><name>A</name></villages></villages_list></fixture>
  ${cases.map((id) => `<case case_id="${id}" date_modified="2024-03-04T10:00:00.000000Z" user_id="${user.userId}" xmlns="http://commcarehq.org/case/transaction/v2"><create><case_type>household</case_type><case_name>X</case_name><owner_id>${user.userId}</owner_id></create><update><village>A &amp; B</village></update></case>`).join('\n  ')}
</OpenRosaResponse>`;

describe('restore requests and responses', () => {
  it('builds the restore URL with device_id, since and options, and basic auth with the full login', () => {
    assert.equal(
      restoreUrl({ ...target, appId: 'abc123' }, { deviceId: 'DEV 1', since: 'tok/1', skipFixtures: true, items: true }),
      'http://hq.example.org/a/demo/phone/restore/abc123/?version=2.0&device_id=DEV%201&since=tok%2F1&skip_fixtures=true&items=true',
    );
    const s = new RestoreSession(user, target);
    const req = s.next();
    assert.equal(req.method, 'GET');
    assert.equal(req.url, `http://hq.example.org/a/demo/phone/restore/?version=2.0&device_id=${user.deviceId}`);
    const decoded = Buffer.from(req.headers.Authorization!.replace(/^Basic /, ''), 'base64').toString('utf8');
    assert.equal(decoded, `mw0000@demo.commcarehq.org:${user.password}`);
  });

  it('first restore is full, then incremental with the last token; 202 keeps it; 412 drops it', () => {
    const s = new RestoreSession(user, target);
    assert.doesNotMatch(s.next().url, /since=/);
    const r1 = s.handle(200, restoreBody('token-1', ['c1', 'c2', 'c3']));
    assert.equal(r1.kind, 'success');
    assert.equal(r1.restoreId, 'token-1');
    assert.match(s.next().url, /&since=token-1$/);

    const pending = s.handle(
      202,
      '<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="ota_restore_pending">Asynchronous restore under way for mw0000</message><Sync xmlns="http://commcarehq.org/sync"><progress done="12" total="40" retry-after="7"/></Sync></OpenRosaResponse>',
      { 'retry-after': '5' },
    );
    assert.equal(pending.kind, 'pending');
    assert.equal(pending.nature, 'ota_restore_pending');
    assert.deepEqual(pending.progress, { done: 12, total: 40, retryAfter: 7 });
    assert.equal(pending.retryAfterSeconds, 5, 'the Retry-After header wins');
    assert.match(s.next().url, /&since=token-1$/, 'still incremental while pending');

    const r2 = s.handle(200, restoreBody('token-2', ['c4']));
    assert.equal(r2.caseCount, 1);
    assert.match(s.next().url, /&since=token-2$/);

    const stale = s.handle(
      412,
      '<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="ota_restore_error">Invalid restore token. Please restore from scratch.</message></OpenRosaResponse>',
    );
    assert.equal(stale.kind, 'stale-token');
    assert.equal(stale.nature, 'ota_restore_error');
    assert.match(stale.message ?? '', /Invalid restore token/);
    assert.doesNotMatch(s.next().url, /since=/, 'after 412 the phone restores from scratch');
    assert.equal(s.restores, 2);
  });

  it('reads a full restore: token, cases, fixtures, registration, items', () => {
    const r = readRestoreResponse(200, restoreBody('tok', ['a', 'b']));
    assert.equal(r.nature, 'ota_restore_success');
    assert.equal(r.message, 'Successfully restored account mw0000!');
    assert.equal(r.caseCount, 2);
    assert.deepEqual(r.caseIds, ['a', 'b']);
    assert.equal(r.items, 4);
    assert.deepEqual(r.fixtures, [
      { id: 'user-groups', userId: user.userId },
      { id: 'item-list:villages', userId: user.userId },
    ]);
    assert.deepEqual(r.registration, { username: 'mw0000', userId: user.userId });
    const single = readRestoreResponse(200, restoreBody('t', ['only']));
    assert.deepEqual(single.caseIds, ['only'], 'one case is still a list');
    const empty = readRestoreResponse(200, restoreBody('t', []));
    assert.equal(empty.caseCount, 0);
    assert.equal(readRestoreResponse(500, 'Internal Server Error').kind, 'error');
    assert.equal(readRestoreResponse(200, '').kind, 'error');
  });
});

describe('submission requests and responses', () => {
  const sub = pop.timeline(0).next();

  it('posts multipart to the receiver with OpenRosa v3 and basic auth', () => {
    const req = submissionRequest(sub, user, { ...target, appId: 'app1' });
    assert.equal(req.method, 'POST');
    assert.equal(req.url, 'http://hq.example.org/a/demo/receiver/app1/');
    assert.equal(req.headers['X-OpenRosa-Version'], '3.0');
    assert.ok(req.body instanceof Uint8Array);
    const parts = parseMultipart(req.body, req.headers['Content-Type']!);
    assert.equal(Buffer.from(parts[0]!.data).toString('utf8'), sub.xml);
  });

  it('posts raw XML when asked', () => {
    const req = submissionRequest(sub, user, target, { multipart: false, openRosaVersion: null });
    assert.equal(req.body, sub.xml);
    assert.equal(req.headers['Content-Type'], 'text/xml; charset=utf-8');
    assert.equal(req.headers['X-OpenRosa-Version'], undefined);
  });

  it('reads HQ answers', () => {
    const ok = readSubmitResponse(
      201,
      '<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="submit_success">   √   </message></OpenRosaResponse>',
      { 'X-CommCareHQ-FormID': sub.instanceID },
    );
    assert.deepEqual([ok.ok, ok.nature, ok.formId], [true, 'submit_success', sub.instanceID]);
    const failed = readSubmitResponse(
      422,
      '<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="processing_failure">InvalidCaseIndex</message></OpenRosaResponse>',
    );
    assert.deepEqual([failed.ok, failed.nature, failed.message], [false, 'processing_failure', 'InvalidCaseIndex']);
    assert.equal(
      readSubmitResponse(
        201,
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="submit_error">bad</message></OpenRosaResponse>',
      ).ok,
      false,
    );
  });
});
