import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, quantile } from './stats.ts';

describe('quantile', () => {
  it('interpolates between the closest ranks, as k6 does', () => {
    assert.equal(quantile([10, 20, 30, 40], 0.5), 25);
    assert.equal(quantile([10, 20, 30, 40], 0.95), 38.5);
    assert.equal(quantile([7], 0.99), 7);
    assert.equal(quantile([], 0.5), 0);
  });
  it('percentile sorts a copy and leaves the input alone', () => {
    const v = [40, 10, 30, 20];
    assert.equal(percentile(v, 50), 25);
    assert.deepEqual(v, [40, 10, 30, 20]);
    assert.ok(Number.isNaN(percentile([], 95)));
  });
});
