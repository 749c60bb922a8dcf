import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { k6SegmentArgs, parseSegment, segmentInfo, segmentLabel } from './segments.ts';

describe('execution segments', () => {
  it('i/N -> k6 --execution-segment and the sequence every segment shares', () => {
    assert.deepEqual(k6SegmentArgs({ index: 1, count: 2 }), ['--execution-segment', '0:1/2', '--execution-segment-sequence', '0,1/2,1']);
    assert.deepEqual(k6SegmentArgs({ index: 2, count: 2 }), ['--execution-segment', '1/2:1', '--execution-segment-sequence', '0,1/2,1']);
    assert.equal(segmentInfo({ index: 2, count: 3 }).executionSegment, '1/3:2/3');
    assert.equal(segmentInfo({ index: 1, count: 1 }).executionSegment, '0:1');
    assert.equal(segmentLabel({ index: 3, count: 4 }), 'seg3of4');
  });
  it('rejects what is not a segment', () => {
    assert.deepEqual(parseSegment(' 2/4 '), { index: 2, count: 4 });
    for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0', '-1/2']) assert.throws(() => parseSegment(bad), /--segment/, bad);
  });
});
