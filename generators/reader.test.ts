import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { caseIdsOf, caseSummary, readSubmission, SubmissionError, type Submission } from './reader.ts';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'test', 'fixtures', 'submissions');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

function throwsCode(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SubmissionError, `expected SubmissionError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

/** What a submission says of the form: its root, xmlns, name and meta (the normalised fields; `raw` apart). */
function formOf(s: Submission) {
  if (!s.meta) return { rootName: s.rootName, xmlns: s.xmlns, name: s.name, meta: undefined, raw: undefined };
  const { raw, ...meta } = s.meta;
  return { rootName: s.rootName, xmlns: s.xmlns, name: s.name, meta, raw: Object.keys(raw) };
}

const JRX = 'http://openrosa.org/jr/xforms';
const MODERN = ['deviceID', 'timeStart', 'timeEnd', 'username', 'userID', 'instanceID'];

describe('readSubmission on the submission fixtures', () => {
  it('prefixed-meta.xml: prefixed OpenRosa meta, cc:appVersion, one create+update block', () => {
    const s = readSubmission(fixture('prefixed-meta.xml'));
    const appVersion = 'CommCare Android, version "2.54.1"(466112). App v212. CommCare Version 2.54.1. Build 466112';
    assert.deepEqual(formOf(s), {
      rootName: 'data',
      xmlns: 'http://openrosa.org/formdesigner/capacity/household-registration',
      name: 'Register Household',
      meta: {
        namespace: JRX,
        deviceID: 'capacity-tablet-0193',
        timeStart: '2024-05-13T08:02:11.204Z',
        timeEnd: '2024-05-13T08:09:47.918Z',
        username: 'chw.amina',
        userID: '4a4ebb43944c4d7f8e489719ede0c433',
        instanceID: 'ecf6e40d-4770-43fb-8f88-2a5352d2824b',
        appVersion,
      },
      raw: [...MODERN, 'appVersion'], // cc:appVersion by its local name
    });
    assert.equal(s.cases.length, 1);
    const c = s.cases[0]!;
    assert.equal(c.caseId, '0c5c45a3-684e-4774-bcdf-0db6f4864809');
    assert.equal(c.dateModified, '2024-05-13T08:09:47.918Z');
    assert.equal(c.userId, '4a4ebb43944c4d7f8e489719ede0c433');
    assert.deepEqual(c.actions, ['create', 'update']);
    assert.deepEqual(c.create, { caseType: 'household', ownerId: '4a4ebb43944c4d7f8e489719ede0c433', caseName: 'Okafor household' });
    assert.equal(c.update?.head_of_household, 'Chidi Okafor');
    assert.equal(c.update?.members, '6');
    assert.equal(c.update?.gps_location, '', 'empty elements are empty properties');
    assert.equal(Object.keys(c.update ?? {}).length, 8);
    assert.equal(c.close, false);
    assert.deepEqual(s.warnings, []);
  });

  it('old-meta-ledger.xml: old capitalised meta without namespace, two blocks for one case, a ledger balance', () => {
    const s = readSubmission(fixture('old-meta-ledger.xml'));
    assert.deepEqual(formOf(s), {
      rootName: 'form',
      xmlns: 'http://capacity.example/forms/clinic-stock-count',
      name: undefined,
      // in the form's namespace, capitalised names normalised; uid is the instanceID
      meta: {
        namespace: 'http://capacity.example/forms/clinic-stock-count',
        deviceID: 'clinic-laptop-07',
        timeStart: '2011-09-19T10:15:00.000',
        timeEnd: '2011-09-19T10:31:42.500',
        username: 'stock.keeper',
        userID: '1b16d7c50a834cfe9d05139da805cfae',
        instanceID: '0470a7e038e74f45951997075dea564e',
      },
      raw: ['DeviceID', 'TimeStart', 'TimeEnd', 'username', 'userID', 'uid'],
    });
    assert.deepEqual(s.warnings, []);
    assert.deepEqual(
      s.cases.map((c) => [c.caseId, c.actions.join('+'), c.path]),
      [
        ['0e64c271-9297-476b-86c1-4895689e1e67', 'create+update', '/form/count/case'],
        ['0e64c271-9297-476b-86c1-4895689e1e67', 'close', '/form/count/case'],
        ['1191bcfb-ba98-4ad8-bcf1-b333d359f456', 'create+update', '/form/count/case'],
      ],
    );
    assert.equal(s.cases[0]!.create?.caseType, 'requisition');
    assert.equal(s.cases[0]!.create?.ownerId, 'unassigned');
    assert.equal(s.cases[0]!.update?.['unit-price'], '0.35');
    assert.equal(s.cases[0]!.update?.owner_id, '1b16d7c50a834cfe9d05139da805cfae', 'an update may move the owner');
    assert.equal(s.cases[1]!.close, true);
    assert.equal(s.cases[2]!.create?.caseType, 'supply-point');
    assert.deepEqual(caseIdsOf(s), ['0e64c271-9297-476b-86c1-4895689e1e67', '1191bcfb-ba98-4ad8-bcf1-b333d359f456']);
    const summary = caseSummary(s).get('0e64c271-9297-476b-86c1-4895689e1e67');
    assert.deepEqual(summary?.actions, ['create', 'update', 'close']);
    assert.equal(summary?.close, true);
    assert.equal(caseSummary(s).get('1191bcfb-ba98-4ad8-bcf1-b333d359f456')?.close, false);
    assert.equal(s.ledgers.length, 1);
    assert.deepEqual(s.ledgers[0], {
      kind: 'balance',
      path: '/form/count/balance',
      entityId: '1191bcfb-ba98-4ad8-bcf1-b333d359f456',
      date: '2011-09-19',
      sectionId: 'stock',
      entries: [
        { productId: 'ors-sachet', sectionId: 'stock', quantity: 135 },
        { productId: 'zinc-20mg', sectionId: 'stock', quantity: 0 },
      ],
    });
  });

  it('index-no-meta.xml: default-namespace case block with two indices and no meta', () => {
    const s = readSubmission(fixture('index-no-meta.xml'));
    assert.deepEqual(formOf(s), {
      rootName: 'form',
      xmlns: 'http://capacity.example/forms/link-referral',
      name: undefined,
      meta: undefined,
      raw: undefined,
    });
    assert.deepEqual(s.warnings, ['no meta block']);
    assert.equal(s.cases.length, 1);
    const c = s.cases[0]!;
    assert.equal(c.caseId, 'capacity-referral-0042');
    assert.equal(c.userId, 'capacity-nurse-17');
    assert.equal(c.path, '/form/case');
    assert.deepEqual(c.actions, ['index']);
    assert.equal(c.create, undefined);
    assert.deepEqual(c.index, {
      household: { caseType: 'household', caseId: 'capacity-household-0007', relationship: 'child' },
      facility: { caseType: 'clinic', caseId: 'capacity-clinic-0003', relationship: 'child' },
    });
  });

  it('meta-after-case.xml: unprefixed meta after the case block, drift, Formplayer device', () => {
    const s = readSubmission(fixture('meta-after-case.xml'));
    assert.deepEqual(formOf(s), {
      rootName: 'data',
      xmlns: 'http://openrosa.org/formdesigner/7D2C1A44-3B1E-4F0A-9C55-2E8B61D0A7F3',
      name: 'Enrol Child',
      meta: {
        namespace: JRX,
        deviceID: 'Formplayer',
        timeStart: '2024-10-02T11:26:10.018-05',
        timeEnd: '2024-10-02T11:27:53.340-05',
        username: 'web.apps',
        userID: '6f068a50b3e54c188e63d9d590e356cc',
        instanceID: '6b0f68d7-437b-4715-a28d-584ac57cb116',
        drift: '-2',
      },
      raw: [...MODERN, 'drift'],
    });
    assert.deepEqual(s.warnings, []);
    const c = s.cases[0]!;
    assert.equal(c.caseId, 'c2de1ece-2fc2-42d9-8f15-1e069f89bd24');
    assert.deepEqual(c.create, { caseName: 'Mateo Quispe', ownerId: '6f068a50b3e54c188e63d9d590e356cc', caseType: 'child' });
    assert.deepEqual(c.update, { birth_date: '2023-11-04', sex: 'male', weight_kg: '9.4' });
  });

  it('bom-utf8.xml: bytes that start with a BOM read the same as the text after it, non-ASCII intact', () => {
    const bytes = readFileSync(path.join(FIXTURES, 'bom-utf8.xml'));
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the fixture keeps its BOM');
    const s = readSubmission(new Uint8Array(bytes));
    assert.deepEqual(s, readSubmission(bytes.subarray(3).toString('utf8')));
    assert.equal(s.name, 'Marché survey');
    assert.equal(s.meta?.deviceID, 'capacity-phone-ßø');
    assert.equal(s.meta?.instanceID, '58c96bd8-1932-456e-8885-9c244badee9e');
    assert.equal(s.cases[0]!.create?.caseName, 'Zoë Ngũgĩ');
    assert.deepEqual(s.cases[0]!.update, { market: 'Łódź Bałuty', goods: 'épices, 茶' });
  });

  it('reads UTF-8 bytes (with a BOM added) the same as the string', () => {
    const text = fixture('meta-after-case.xml');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    assert.deepEqual(readSubmission(new Uint8Array(bytes)), readSubmission(text));
  });
});

describe('readSubmission edge cases', () => {
  const wrap = (inner: string) =>
    `<?xml version="1.0"?><data xmlns="http://example.org/f" xmlns:c="http://commcarehq.org/case/transaction/v2">${inner}</data>`;

  it('finds case blocks at any depth and with any prefix, in document order', () => {
    const s = readSubmission(
      wrap(
        `<g><h><c:case case_id="a"><c:create><c:case_type>t</c:case_type><c:case_name>A</c:case_name></c:create></c:case></h></g>` +
          `<x:case xmlns:x="http://commcarehq.org/case/transaction/v2" case_id="b"><x:index><x:parent case_type="t" relationship="extension">a</x:parent></x:index><x:attachment><photo src="p.jpg" from="local"/><old/></x:attachment></x:case>`,
      ),
    );
    assert.deepEqual(
      s.cases.map((c) => [c.caseId, c.path]),
      [
        ['a', '/data/g/h/case'],
        ['b', '/data/case'],
      ],
    );
    assert.deepEqual(s.cases[1]!.index?.parent, { caseType: 't', caseId: 'a', relationship: 'extension' });
    assert.deepEqual(s.cases[1]!.attachment, { photo: { src: 'p.jpg', from: 'local', remove: false }, old: { remove: true } });
    assert.deepEqual(s.cases[1]!.actions, ['index', 'attachment']);
  });

  it('does not take a "case" element outside the case namespace, but warns', () => {
    const s = readSubmission(`<data xmlns="http://example.org/f"><case case_id="x"><update><p>1</p></update></case></data>`);
    assert.equal(s.cases.length, 0);
    assert.match(s.warnings.join('\n'), /\/data\/case has a case_id but is not in the case namespace/);
  });

  it('reads per-entry ledgers and transfers', () => {
    const s = readSubmission(
      wrap(
        `<l:balance xmlns:l="http://commcarehq.org/ledger/v1" entity-id="e1" date="2024-01-02"><l:entry id="p1"><l:value section-id="stock" quantity="4"/><l:value section-id="consumption" quantity="1.5"/></l:entry></l:balance>` +
          `<transfer xmlns="http://commcarehq.org/ledger/v1" src="e1" dest="e2" date="2024-01-02" section-id="stock" type="transfer"><entry id="p2" quantity="7"/></transfer>`,
      ),
    );
    assert.deepEqual(s.ledgers[0]!.entries, [
      { productId: 'p1', sectionId: 'stock', quantity: 4 },
      { productId: 'p1', sectionId: 'consumption', quantity: 1.5 },
    ]);
    assert.equal(s.ledgers[1]!.kind, 'transfer');
    assert.equal(s.ledgers[1]!.src, 'e1');
    assert.equal(s.ledgers[1]!.dest, 'e2');
    assert.equal(s.ledgers[1]!.type, 'transfer');
  });

  it('decodes entities in values', () => {
    const s = readSubmission(wrap(`<c:case case_id="a"><c:update><c:note>Tom &amp; Jerry &lt;3</c:note></c:update></c:case>`));
    assert.equal(s.cases[0]!.update?.note, 'Tom & Jerry <3');
  });

  it('rejects bad input with a precise SubmissionError', () => {
    throwsCode(() => readSubmission(''), 'empty', /empty submission/);
    throwsCode(() => readSubmission('  \n'), 'empty', /empty submission/);
    throwsCode(() => readSubmission('<data xmlns="x"><a></data>'), 'not-xml', /line 1, column \d+: Expected closing tag 'a'/);
    throwsCode(() => readSubmission('hello'), 'not-xml', /not well-formed XML/);
    throwsCode(() => readSubmission('<a xmlns="x"/><b/>'), 'not-xml', /more than one root element \(<a> and <b>\)/);
    throwsCode(() => readSubmission('<data><q>1</q></data>'), 'no-xmlns', /root element <data> has no xmlns/);
    throwsCode(() => readSubmission(wrap('<c:case><c:close/></c:case>')), 'bad-case', /case block #1 at \/data\/case has no case_id/);
    throwsCode(
      () => readSubmission(wrap('<c:case case_id="z"><c:create><c:case_name>n</c:case_name></c:create></c:case>')),
      'bad-case',
      /case_id z.*create has no case_type/,
    );
    throwsCode(
      () => readSubmission(wrap('<c:case case_id="z"><c:index><parent>p</parent></c:index></c:case>')),
      'bad-case',
      /index "parent" has no case_type/,
    );
    throwsCode(
      () =>
        readSubmission(
          wrap('<balance xmlns="http://commcarehq.org/ledger/v1" entity-id="e" section-id="s"><entry id="p" quantity="lots"/></balance>'),
        ),
      'bad-ledger',
      /ledger balance #1 at \/data\/balance: entry p has quantity "lots", not a number/,
    );
    throwsCode(
      () => readSubmission(wrap('<balance xmlns="http://commcarehq.org/ledger/v1" section-id="s"/>')),
      'bad-ledger',
      /has no entity-id/,
    );
  });
});
