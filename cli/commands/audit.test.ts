// Issue 14: the audit sees the submissions the service refused, from the run's request log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../core/errors.ts';
import { auditSources, formatByStatus, readAcks } from './audit.ts';
import { fakeResults } from '../../test/support/fake-results.ts';

const sub = (s: number, ok: 0 | 1, ack?: string) => ({ e: 'receiver', t: 1, d: 5, s, ok, w: 0, form: 'f', ...(ack ? { ack } : {}) });

describe('audit --results / --acks: refused submissions by status', () => {
  const dir = fakeResults([
    sub(201, 1, 'a1'),
    sub(201, 1, 'a2'),
    sub(500, 0),
    sub(500, 0),
    sub(422, 0),
    sub(201, 0),
    sub(0, 0),
    { e: 'restore', t: 1, d: 3, s: 500, ok: 0, w: 0 },
  ]);

  it('a results directory: its acks, and every refusal of the receiver counted by status', async () => {
    const s = await auditSources({ results: dir });
    assert.deepEqual(s.acknowledged, ['a1', 'a2']);
    assert.deepEqual(s.refused, { sent: 7, refused: 5, byStatus: { '500': 2, '422': 1, '201 submit_error': 1, '0': 1 } });
    assert.equal(formatByStatus(s.refused!.byStatus), '0 x1, 201 submit_error x1, 422 x1, 500 x2');
  });

  it('an acks file: the request log beside it is read too', async () => {
    const s = await auditSources({ acks: path.join(dir, 'acks.ndjson') });
    assert.equal(s.refused?.refused, 5);
  });

  it('an acks file alone (no request log): only the acks, as before', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-acks-')), 'ids.txt');
    fs.writeFileSync(file, 'abc-1\nabc-2\n');
    assert.deepEqual(await auditSources({ acks: file }), { acknowledged: ['abc-1', 'abc-2'] });
  });

  it('a run where nothing was acknowledged audits no forms, not every form', async () => {
    const s = await auditSources({ results: fakeResults([sub(500, 0)]) });
    assert.deepEqual(s.acknowledged, []);
    assert.equal(s.refused?.refused, 1);
  });

  it('bad input: one line, exit 2', async () => {
    await assert.rejects(
      auditSources({ results: os.tmpdir() }),
      (e: unknown) => e instanceof UserError && /not a results directory/.test(e.message),
    );
    await assert.rejects(auditSources({ results: dir, acks: 'x' }), (e: unknown) => e instanceof UserError && /not both/.test(e.message));
    assert.deepEqual(readAcks(path.join(dir, 'acks.ndjson')), ['a1', 'a2']);
  });
});
