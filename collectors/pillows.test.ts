import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndOffsetHistory, pillowSamples, type CheckpointRow } from './pillows.ts';
import { RateTracker } from './rates.ts';
import type { Sample } from './types.ts';

const val = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const ends = (topic: string, highs: number[]) => new Map([[topic, new Map(highs.map((h, p) => [p, { high: h }]))]]);
const row = (p: Partial<CheckpointRow>): CheckpointRow => ({
  checkpoint_id: 'xform-pillow',
  topic: 'form-sql',
  partition: 0,
  offset: 0,
  change_age_s: 100,
  checkpoint_age_s: 2,
  has_doc_time: true,
  ...p,
});

describe('pillowSamples', () => {
  it('offset lag = end offset - checkpoint; per pillow totals; caught up means no time lag', () => {
    const s = pillowSamples(
      new Date(0),
      'pg1',
      [row({ partition: 0, offset: 40 }), row({ partition: 1, offset: 100 })],
      ends('form-sql', [50, 100]),
      new RateTracker(),
    );
    assert.equal(val(s, 'offset_lag', { partition: '0' })?.value, 10);
    assert.equal(val(s, 'offset_lag', { partition: '1' })?.value, 0);
    assert.equal(val(s, 'time_lag_s', { partition: '1' })?.value, 0);
    assert.equal(val(s, 'time_lag_s', { partition: '1' })?.labels.from, 'caught_up');
    // backlog older than the collector: bounded by the last checkpointed change's age
    assert.equal(val(s, 'time_lag_s', { partition: '0' })?.value, 100);
    assert.equal(val(s, 'time_lag_s', { partition: '0' })?.labels.from, 'doc_modification_time');
    assert.equal(val(s, 'offset_lag_total', { pillow: 'xform-pillow' })?.value, 10);
    assert.equal(val(s, 'time_lag_max_s', { pillow: 'xform-pillow' })?.value, 100);
    assert.equal(val(s, 'checkpoint_age_s', { partition: '0' })?.value, 2);
  });

  it('time lag from end offsets seen: an idle pillow that just got a new change lags by under one interval, not by its idle time', () => {
    const rates = new RateTracker();
    const history = new EndOffsetHistory();
    // t=0..10 s: caught up at 50 (its last change was an hour old); at t=11 s a change arrives (end 51)
    for (let t = 0; t <= 10; t++)
      pillowSamples(new Date(t * 1000), 'pg1', [row({ offset: 50, change_age_s: 3600 + t })], ends('form-sql', [50]), rates, history);
    const s = pillowSamples(new Date(11_000), 'pg1', [row({ offset: 50, change_age_s: 3611 })], ends('form-sql', [51]), rates, history);
    assert.equal(val(s, 'offset_lag')?.value, 1);
    assert.equal(val(s, 'time_lag_s')?.value, 1);
    assert.equal(val(s, 'time_lag_s')?.labels.from, 'kafka_end_offsets');
    // still stuck 20 s later with more arriving: lag counts from the last tick the end was still 50
    pillowSamples(new Date(20_000), 'pg1', [row({ offset: 50, change_age_s: 3620 })], ends('form-sql', [60]), rates, history);
    const s2 = pillowSamples(new Date(31_000), 'pg1', [row({ offset: 50, change_age_s: 3631 })], ends('form-sql', [70]), rates, history);
    assert.equal(val(s2, 'time_lag_s')?.value, 21);
    // it processes up to 60: offset 60 did not exist at t=20 s (bound: 12 s), and the change before it was
    // made 5 s ago (bound: 5 s): the smaller bound wins
    const s3 = pillowSamples(new Date(32_000), 'pg1', [row({ offset: 60, change_age_s: 5 })], ends('form-sql', [70]), rates, history);
    assert.equal(val(s3, 'time_lag_s')?.value, 5);
    assert.equal(val(s3, 'time_lag_s')?.labels.from, 'doc_modification_time');
    const s4 = pillowSamples(new Date(33_000), 'pg1', [row({ offset: 60, change_age_s: 30 })], ends('form-sql', [70]), rates, history);
    assert.equal(val(s4, 'time_lag_s')?.value, 13);
    assert.equal(val(s3, 'processed_per_s')?.value, 10);
    assert.equal(val(s4, 'processed_per_s')?.value, 0);
  });

  it('checkpoints on topics Kafka does not have are reported without a lag', () => {
    const s = pillowSamples(new Date(0), 'pg1', [row({ topic: 'gone' })], new Map(), new RateTracker());
    assert.equal(val(s, 'offset_lag'), undefined);
    assert.ok(val(s, 'checkpoint_offset'));
  });
});

describe('EndOffsetHistory', () => {
  it('finds the last time the end was at or below an offset, and prunes what no checkpoint needs', () => {
    const h = new EndOffsetHistory();
    h.observe(0, ends('t', [10]));
    h.observe(1000, ends('t', [10]));
    h.observe(2000, ends('t', [15]));
    h.observe(3000, ends('t', [20]));
    assert.equal(h.publishedAfter('t', 0, 10), 1000);
    assert.equal(h.publishedAfter('t', 0, 12), 1000);
    assert.equal(h.publishedAfter('t', 0, 15), 2000);
    assert.equal(h.publishedAfter('t', 0, 5), undefined, 'older than the first reading');
    assert.equal(h.publishedAfter('t', 0, 20), undefined, 'not produced yet');
    h.prune([{ topic: 't', partition: 0, offset: 16 }]);
    assert.equal(h.publishedAfter('t', 0, 16), 2000);
    assert.equal(h.publishedAfter('t', 0, 12), undefined, 'pruned');
  });
});
