// Fuzz (issue 14): a few hundred generated malformed and hostile submissions through the reader. Each one is read or
// refused with a SubmissionError (never another error, never a hang), no entity is ever expanded, and what HQ
// refuses is refused, what it takes is read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readSubmission, SubmissionError } from './reader.ts';
import { EXPANDED, escText, formText, hostileBody, type HostileBody } from '../test/support/hostile-submissions.ts';

const RUNS = Number(process.env.CAPACITY_FUZZ_RUNS ?? 400);
/** Per body: far above what a 10 MB form takes; a hang or a blow-up shows as a failure, not a stuck suite. */
const MAX_MS = 2000;

/** What the reader makes of a body: 'read' (with the result) or 'refused'; anything else fails the property. */
function outcome(h: HostileBody): 'read' | 'refused' {
  const t = Date.now();
  try {
    const sub = readSubmission(h.body);
    assert.ok(!JSON.stringify(sub).includes(EXPANDED), `${h.what}: an entity was expanded`);
    return 'read';
  } catch (err) {
    assert.ok(err instanceof SubmissionError, `${h.what}: ${String(err)}`);
    assert.ok(!err.message.includes('\n') && err.message.length < 500, `${h.what}: a one-line message (${err.message.length} chars)`);
    return 'refused';
  } finally {
    assert.ok(Date.now() - t < MAX_MS, `${h.what}: took ${Date.now() - t} ms`);
  }
}

describe('reader fuzz', () => {
  it(`${RUNS} hostile bodies: read or refused as HQ would, no other error, no expansion, no hang`, () => {
    const seen = { read: 0, refused: 0 };
    fc.assert(
      fc.property(hostileBody, (h) => {
        const got = outcome(h);
        seen[got]++;
        if (h.expect === 'refuse') assert.equal(got, 'refused', `${h.what}: HQ refuses this`);
        if (h.expect === 'accept') assert.equal(got, 'read', `${h.what}: HQ takes this`);
      }),
      { numRuns: RUNS },
    );
    process.stderr.write(`reader fuzz: ${RUNS} bodies, ${seen.read} read, ${seen.refused} refused\n`);
    assert.ok(seen.read > 0 && seen.refused > 0);
  });

  it('any text value round-trips through a well-formed form, or the form is refused for a character XML forbids', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (note) => {
        const xml = formText({ instanceId: 'i', caseId: 'c', owner: 'o', note, dateModified: '2024-01-01', quantity: '1' });
        const illegal = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udfff]/.test(
          note.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''),
        );
        if (illegal) return assert.throws(() => readSubmission(xml), SubmissionError);
        // the parser trims values and normalises line ends, as XML does (\r\n and \r become \n)
        assert.equal(readSubmission(xml).cases[0]!.update!.note, note.replace(/\r\n?/g, '\n').trim());
        assert.equal(escText(note).includes('<'), false);
      }),
      { numRuns: RUNS },
    );
  });
});
