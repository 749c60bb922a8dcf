import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { caseIdsOf, caseSummary, readSubmission, SubmissionError } from './reader.ts';

const FIXTURES = process.env.CAPACITY_REFERENCE
  ? path.join(process.env.CAPACITY_REFERENCE, 'hq-fixtures')
  : path.resolve(import.meta.dirname, '..', '..', 'shared', 'reference', 'hq-fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

function throwsCode(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SubmissionError, `expected SubmissionError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('readSubmission on the real HQ fixtures', () => {
  it('namespace_in_meta.xml: prefixed OpenRosa meta, cc:appVersion, one create+update block', () => {
    const s = readSubmission(fixture('namespace_in_meta.xml'));
    assert.equal(s.xmlns, 'http://bihar.commcarehq.org/pregnancy/new');
    assert.equal(s.rootName, 'data');
    assert.equal(s.name, 'New Beneficiary');
    assert.equal(s.meta?.namespace, 'http://openrosa.org/jr/xforms');
    assert.equal(s.meta?.instanceID, '801b5a2f-42f0-4394-97b9-fd0622ff6448');
    assert.equal(s.meta?.deviceID, '7FU5S85W2ZVYKDWW6HXM0BSZW');
    assert.equal(s.meta?.timeStart, '2012-03-02T21:34:21.533Z');
    assert.equal(s.meta?.timeEnd, '2012-03-02T21:34:35.025Z');
    assert.equal(s.meta?.username, 'ctest');
    assert.equal(s.meta?.userID, '6046f531e7c5bdb2cb59258a783c00b1');
    assert.equal(s.meta?.appVersion, 'v1.4.0dev (09e3a4-862681-unvers-??-Generic/AnyPhone) b:2012-Mar-02 r:--');
    assert.equal(s.cases.length, 1);
    const c = s.cases[0]!;
    assert.equal(c.caseId, '4aaeeb3f-87d6-4c21-90f5-4d2aabdff589');
    assert.equal(c.dateModified, '2012-03-02');
    assert.equal(c.userId, '6046f531e7c5bdb2cb59258a783c00b1');
    assert.deepEqual(c.actions, ['create', 'update']);
    assert.deepEqual(c.create, { caseType: 'cc_bihar_pregnancy', ownerId: '6046f531e7c5bdb2cb59258a78bba32d', caseName: 'TALIA' });
    assert.equal(c.update?.mother_name, 'TALIA');
    assert.equal(c.update?.date_next_reg, '2012-03-02');
    assert.equal(c.update?.husband_name, '', 'empty elements are empty properties');
    assert.equal(Object.keys(c.update ?? {}).length, 9);
    assert.equal(c.close, false);
    assert.deepEqual(s.warnings, []);
  });

  it('case_ledger_form.xml: old capitalised meta without namespace, two blocks for one case, a ledger balance', () => {
    const s = readSubmission(fixture('case_ledger_form.xml'));
    assert.equal(s.xmlns, 'http://commcarehq.org/test/submit');
    assert.equal(s.rootName, 'form');
    assert.equal(s.meta?.namespace, 'http://commcarehq.org/test/submit');
    assert.equal(s.meta?.deviceID, 'myphone');
    assert.equal(s.meta?.timeStart, '2010-06-29T13:42:50.137');
    assert.equal(s.meta?.timeEnd, '2010-06-29T13:55:50.137');
    assert.equal(s.meta?.instanceID, 'ad38211be256653bceac8e2156475664', 'uid is the instanceID');
    assert.equal(s.meta?.raw.DeviceID, 'myphone');
    assert.equal(s.meta?.userID, 'someuserid');
    assert.deepEqual(s.cases.map((c) => [c.caseId, c.actions.join('+'), c.path]), [
      ['fbb69a88-1eca-463a-883e-1148b96fb03b', 'create+update', '/form/data/case'],
      ['fbb69a88-1eca-463a-883e-1148b96fb03b', 'close', '/form/data/case'],
      ['fbb69a88-1eca-463a-883e-1148b96fb03c', 'create+update', '/form/data/case'],
    ]);
    assert.equal(s.cases[0]!.create?.caseType, 'invoice');
    assert.equal(s.cases[0]!.create?.ownerId, '-');
    assert.equal(s.cases[0]!.update?.['amount-owed-to-entrepreneur'], '119600');
    assert.equal(s.cases[0]!.update?.owner_id, '91cadfa4cb957cf021c76dfe31d206a6');
    assert.equal(s.cases[1]!.close, true);
    assert.deepEqual(caseIdsOf(s), ['fbb69a88-1eca-463a-883e-1148b96fb03b', 'fbb69a88-1eca-463a-883e-1148b96fb03c']);
    const summary = caseSummary(s).get('fbb69a88-1eca-463a-883e-1148b96fb03b');
    assert.deepEqual(summary?.actions, ['create', 'update', 'close']);
    assert.equal(summary?.close, true);
    assert.equal(s.ledgers.length, 1);
    assert.deepEqual(s.ledgers[0], {
      kind: 'balance', path: '/form/data/balance', entityId: 'fbb69a88-1eca-463a-883e-1148b96fb03b', date: '2000-01-01',
      sectionId: 'stock', entries: [{ productId: 'fbb69a88-1eca-463a-883e-1148b96fb03b', sectionId: 'stock', quantity: 10 }],
    });
  });

  it('index_update.xml: default-namespace case block with two indices and no meta', () => {
    const s = readSubmission(fixture('index_update.xml'));
    assert.equal(s.xmlns, 'http://org.commcarehq/case/test/create');
    assert.equal(s.meta, undefined);
    assert.deepEqual(s.warnings, ['no meta block']);
    assert.equal(s.cases.length, 1);
    const c = s.cases[0]!;
    assert.equal(c.caseId, 'foo-case-id');
    assert.equal(c.userId, 'bar-user-id');
    assert.deepEqual(c.actions, ['index']);
    assert.deepEqual(c.index, {
      foo_ref: { caseType: 'bar', caseId: 'some_referenced_id', relationship: 'child' },
      baz_ref: { caseType: 'bop', caseId: 'some_other_referenced_id', relationship: 'child' },
    });
  });

  it('formplayer_creates_case.xml: meta after the case block, drift, Formplayer device', () => {
    const s = readSubmission(fixture('formplayer_creates_case.xml'));
    assert.equal(s.xmlns, 'http://openrosa.org/formdesigner/EB0847F3-0A2B-49C8-8BA4-C38FDE6C9874');
    assert.equal(s.name, 'Register Woman');
    assert.equal(s.meta?.deviceID, 'Formplayer');
    assert.equal(s.meta?.instanceID, 'd656627c-d098-4e86-ae6b-093d0baed9a9');
    assert.equal(s.meta?.timeStart, '2020-08-28T16:04:05.825+02');
    assert.equal(s.meta?.drift, '0');
    assert.equal(s.meta?.appVersion, undefined);
    const c = s.cases[0]!;
    assert.equal(c.caseId, '1e16a2e1-b0a0-42ee-92e1-4c43dca11171');
    assert.deepEqual(c.create, { caseName: 'Carolynne CARTER', ownerId: '3c6d579a8abdddd07c033d1725b10735', caseType: 'case' });
    assert.deepEqual(c.update, { date_of_birth: '1990-08-28', family_name: 'Carter', given_name: 'Carolynne' });
  });

  it('reads UTF-8 bytes (with BOM) the same as the string', () => {
    const text = fixture('formplayer_creates_case.xml');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    assert.deepEqual(readSubmission(new Uint8Array(bytes)), readSubmission(text));
  });
});

describe('readSubmission edge cases', () => {
  const wrap = (inner: string) => `<?xml version="1.0"?><data xmlns="http://example.org/f" xmlns:c="http://commcarehq.org/case/transaction/v2">${inner}</data>`;

  it('finds case blocks at any depth and with any prefix, in document order', () => {
    const s = readSubmission(wrap(
      `<g><h><c:case case_id="a"><c:create><c:case_type>t</c:case_type><c:case_name>A</c:case_name></c:create></c:case></h></g>` +
      `<x:case xmlns:x="http://commcarehq.org/case/transaction/v2" case_id="b"><x:index><x:parent case_type="t" relationship="extension">a</x:parent></x:index><x:attachment><photo src="p.jpg" from="local"/><old/></x:attachment></x:case>`,
    ));
    assert.deepEqual(s.cases.map((c) => [c.caseId, c.path]), [['a', '/data/g/h/case'], ['b', '/data/case']]);
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
    const s = readSubmission(wrap(
      `<l:balance xmlns:l="http://commcarehq.org/ledger/v1" entity-id="e1" date="2024-01-02"><l:entry id="p1"><l:value section-id="stock" quantity="4"/><l:value section-id="consumption" quantity="1.5"/></l:entry></l:balance>` +
      `<transfer xmlns="http://commcarehq.org/ledger/v1" src="e1" dest="e2" date="2024-01-02" section-id="stock" type="transfer"><entry id="p2" quantity="7"/></transfer>`,
    ));
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
    throwsCode(() => readSubmission(wrap('<c:case case_id="z"><c:create><c:case_name>n</c:case_name></c:create></c:case>')), 'bad-case', /case_id z.*create has no case_type/);
    throwsCode(() => readSubmission(wrap('<c:case case_id="z"><c:index><parent>p</parent></c:index></c:case>')), 'bad-case', /index "parent" has no case_type/);
    throwsCode(
      () => readSubmission(wrap('<balance xmlns="http://commcarehq.org/ledger/v1" entity-id="e" section-id="s"><entry id="p" quantity="lots"/></balance>')),
      'bad-ledger', /ledger balance #1 at \/data\/balance: entry p has quantity "lots", not a number/,
    );
    throwsCode(() => readSubmission(wrap('<balance xmlns="http://commcarehq.org/ledger/v1" section-id="s"/>')), 'bad-ledger', /has no entity-id/);
  });
});
