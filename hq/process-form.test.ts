import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validTime } from './process-form.ts';

describe('timestamps from phones', () => {
  it('keeps what PostgreSQL accepts and drops impossible dates instead of failing the form', () => {
    assert.equal(validTime('2024-03-04T08:52:03.289+02:00'), '2024-03-04T08:52:03.289+02:00');
    assert.equal(validTime('2024-02-29'), '2024-02-29');
    assert.equal(validTime('2024-02-30'), null);
    assert.equal(validTime('2023-02-29T10:00:00Z'), null);
    assert.equal(validTime('2024-13-01'), null);
    assert.equal(validTime('2024-01-01T24:00:00Z'), null);
    assert.equal(validTime('yesterday'), null);
    assert.equal(validTime(undefined), null);
  });
});
