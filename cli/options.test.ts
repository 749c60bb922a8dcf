import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { positive, seconds, share, wholeNumber } from './options.ts';

const refuses = (f: () => unknown, text: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof UserError && e.exitCode === 2 && text.test(e.message));

describe('flag parsers', () => {
  it('positive: above 0, whole when asked, underscores allowed', () => {
    assert.equal(positive('--rate')('2.5'), 2.5);
    assert.equal(positive('--users', true)('1_000'), 1000);
    refuses(() => positive('--rate')('0'), /--rate must be a number above 0, not "0"/);
    refuses(() => positive('--users', true)('2.5'), /--users must be a whole number/);
    refuses(() => positive('--rate')(''), /--rate/);
  });
  it('share: 0..1 or a percentage; above0 refuses 0', () => {
    assert.equal(share('--max-failed')('0'), 0);
    assert.equal(share('--edits')('5%'), 0.05);
    assert.equal(share('--peak-share', { above0: true })('0.035'), 0.035);
    refuses(() => share('--peak-share', { above0: true })('0'), /above 0/);
    refuses(() => share('--edits')('1.5'), /--edits must be a share from 0 to 1/);
    refuses(() => share('--edits')('x%'), /--edits/);
  });
  it('wholeNumber: at least min', () => {
    assert.equal(wholeNumber('--case-load', 0)('0'), 0);
    refuses(() => wholeNumber('--count', 1)('0'), /at least 1/);
    refuses(() => wholeNumber('--count', 1)('-3'), /--count/);
  });
  it('seconds: a duration; above0 refuses nothing', () => {
    assert.equal(seconds('--duration', { above0: true })('2m'), 120);
    assert.equal(seconds('--baseline')('0'), 0);
    refuses(() => seconds('--duration', { above0: true })('0'), /--duration must be longer than 0/);
    refuses(() => seconds('--interval')('soon'), /is not a duration/);
  });
});
