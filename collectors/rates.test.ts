import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateTracker, deltaRatio } from './rates.ts';

describe('RateTracker', () => {
  it('gives no rate on the first reading, then delta per second', () => {
    const r = new RateTracker();
    assert.equal(r.rate('a', 100, 1000), undefined);
    assert.equal(r.rate('a', 150, 1500), 100);
    assert.equal(r.rate('a', 150, 2500), 0);
  });
  it('gives no rate when a counter goes backwards (source restarted), then resumes', () => {
    const r = new RateTracker();
    r.rate('a', 100, 0);
    assert.equal(r.rate('a', 5, 1000), undefined);
    assert.equal(r.rate('a', 15, 2000), 10);
  });
  it('ignores non-finite readings and zero time steps', () => {
    const r = new RateTracker();
    r.rate('a', 1, 0);
    assert.equal(r.rate('a', NaN, 1000), undefined);
    assert.equal(r.rate('a', 2, 0), undefined);
  });
  it('retain() forgets keys that went away', () => {
    const r = new RateTracker();
    r.rate('a', 1, 0);
    r.rate('b', 1, 0);
    r.retain(new Set(['a']));
    assert.equal(r.rate('b', 2, 1000), undefined);
    assert.equal(r.rate('a', 2, 1000), 1);
  });
  it('deltaRatio needs a moving denominator', () => {
    assert.equal(deltaRatio(9, 10), 0.9);
    assert.equal(deltaRatio(0, 0), undefined);
    assert.equal(deltaRatio(undefined, 3), undefined);
  });
});
