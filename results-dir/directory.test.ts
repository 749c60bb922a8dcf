import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { RESULTS_FORMAT } from './manifest.ts';
import { ResultsDir } from './directory.ts';
import { loadResults } from './load.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'results-dir-'));
const userError = (text: RegExp) => (e: unknown) => e instanceof UserError && text.test(e.message);

describe('ResultsDir', () => {
  it('creates a new folder for every run, even in the same second', () => {
    const root = tmp();
    const now = new Date('2026-12-04T10:00:00.123Z');
    const a = ResultsDir.create(root, 'steady', now);
    const b = ResultsDir.create(root, 'steady', now);
    assert.equal(path.basename(a.dir), '20261204T100000Z-steady');
    assert.equal(path.basename(b.dir), '20261204T100000Z-steady-1');
  });

  it('writes JSON whole and reads it back; NDJSON skips a torn last line', () => {
    const r = ResultsDir.create(tmp(), 'x');
    r.writeJson('summary', { outcome: 'passed' });
    assert.deepEqual(r.readJson('summary'), { outcome: 'passed' });
    assert.deepEqual(fs.readdirSync(r.dir), ['summary.json'], 'no temporary file left behind');
    fs.writeFileSync(r.path('acks'), '{"ack":"a","t":1,"w":0}\n{"ack":"b","t":2,"w":0}\n{"ack":"c","t"');
    assert.deepEqual(
      r.ndjson<{ ack: string }>('acks').map((a) => a.ack),
      ['a', 'b'],
    );
    assert.equal(r.readJson('k6Summary'), undefined, 'a missing file is undefined, not an error');
  });

  it('names the file that is not JSON', () => {
    const r = ResultsDir.create(tmp(), 'x');
    fs.writeFileSync(r.path('summary'), '{not json');
    assert.throws(() => r.summary(), userError(/summary\.json: not valid JSON/));
  });

  it('refuses a manifest of another results format in one line, and reads one without a format as the first', async () => {
    const r = ResultsDir.create(tmp(), 'x');
    r.writeJson('manifest', { scenario: 'steady', startedAt: '2026-12-04T10:00:00Z' });
    assert.equal(r.manifest()?.scenario, 'steady');
    r.writeJson('manifest', { format: RESULTS_FORMAT + 1, scenario: 'steady' });
    assert.throws(() => r.manifest(), userError(new RegExp(`results format ${RESULTS_FORMAT + 1} is not one this capacity reads`)));
    await assert.rejects(loadResults(r.dir), userError(/results format/), 'the report refuses it too');
  });

  it('open: one line for a missing folder, a file, or a folder that holds no run', () => {
    const root = tmp();
    assert.throws(() => ResultsDir.open(path.join(root, 'nope')), userError(/no such results directory/));
    fs.writeFileSync(path.join(root, 'f'), '');
    assert.throws(() => ResultsDir.open(path.join(root, 'f')), userError(/not a directory/));
    assert.throws(() => ResultsDir.open(root), userError(/not a results directory/));
  });
});
