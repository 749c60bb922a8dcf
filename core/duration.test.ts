import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration(' 1S '), 1000);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'x', '5 days', '-1s', '1e3s']) assert.equal(parseDuration(bad), undefined, bad);
  });
});

describe('compound durations', () => {
  it('adds parts and rejects leftovers', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2m 30s'), 150_000);
    assert.equal(parseDuration('5x'), undefined);
    assert.equal(parseDuration('5s junk'), undefined);
    assert.equal(parseDuration(''), undefined);
  });
});
