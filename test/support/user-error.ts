// For tests of bad input: the error is a UserError, matches, and is one line (what the CLI prints).
import assert from 'node:assert/strict';
import { UserError } from '../../core/errors.ts';

export function expectUserError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'error is one line');
    return true;
  });
}
