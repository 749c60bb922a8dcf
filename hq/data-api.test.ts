import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caseObject, decodeCursor, encodeCursor, formObject, parseApiDate, parseListQuery } from './data-api.ts';

const q = (s: string) => parseListQuery(new URLSearchParams(s), ['xmlns']);

describe('data API parameters and objects', () => {
  it("limit defaults to 20 and is capped at 1000; offset paging has Elasticsearch's window", () => {
    assert.equal(q('').limit, 20);
    assert.equal(q('limit=5000').limit, 1000);
    assert.throws(() => q('limit=abc'), /limit must be a whole number/);
    assert.throws(() => q('limit=1000&offset=9500'), /may not exceed 10000: page with order_by=indexed_on/);
    assert.equal(q('order_by=indexed_on&limit=1000').cursorMode, true);
    assert.throws(() => q('order_by=received_on'), /not supported/);
  });

  it('indexed_on bounds accept a date or a date-time (UTC when no zone)', () => {
    assert.equal(parseApiDate('x', '2021-01-01'), Date.parse('2021-01-01T00:00:00Z'));
    assert.equal(parseApiDate('x', '2021-01-01T06:05:42'), Date.parse('2021-01-01T06:05:42Z'));
    assert.equal(q('indexed_on_start=2021-01-01T06:05:42.5%2B02:00').start, Date.parse('2021-01-01T04:05:42.5Z'));
    assert.throws(() => q('indexed_on_end=yesterday'), /not a date/);
  });

  it('the cursor round-trips and a forged one is refused', () => {
    const c = { t: 1_700_000_000_123, id: 'abc' };
    assert.deepEqual(decodeCursor(encodeCursor(c)), c);
    assert.throws(() => decodeCursor('bm9wZQ'), /bad cursor/);
  });

  it("forms and cases in HQ's v0.5 shapes", () => {
    const f = formObject('d', 'f1', {
      xmlns: 'x',
      received_on: '2026-01-01T00:00:00Z',
      inserted_at: '2026-01-01T00:00:01Z',
      doc_type: 'XFormInstance',
      form: { '@uiVersion': '1', q: 'a', meta: { userID: 'u', instanceID: 'f1', username: 'w' } },
    });
    assert.equal(f.id, 'f1');
    assert.deepEqual((f.metadata as Record<string, unknown>).userID, 'u');
    assert.equal(f.indexed_on, '2026-01-01T00:00:01Z');
    assert.equal(f.resource_uri, '/a/d/api/v0.5/form/f1/');
    const c = caseObject('d', 'c1', {
      type: 'household',
      name: 'H',
      owner_id: 'o',
      closed: false,
      properties: { size: '4' },
      indices: [{ identifier: 'parent', referenced_id: 'p', referenced_type: 'household' }],
    });
    assert.deepEqual(c.properties, {
      size: '4',
      case_name: 'H',
      case_type: 'household',
      owner_id: 'o',
      date_opened: null,
      external_id: null,
    });
    assert.deepEqual(c.indices, { parent: { case_id: 'p', case_type: 'household', relationship: 'child' } });
  });
});
