import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeTick } from './summary.ts';
import { gapSample, sample } from './types.ts';

describe('summarizeTick', () => {
  it('one line: the figures that show which tier struggles, then gaps', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const line = summarizeTick({
      ts: now,
      durationMs: 12,
      skipped: [],
      samples: [
        sample(now, 'host', 'h', 'cpu_busy_pct', 42.4),
        sample(now, 'host', 'h', 'cpu_iowait_pct', 3.14),
        sample(now, 'postgres', 'db', 'tps', 100, { database: 'a' }),
        sample(now, 'postgres', 'db', 'tps', 23, { database: 'b' }),
        sample(now, 'pillows', 'db', 'offset_lag_total', 7, { pillow: 'x' }),
        sample(now, 'pillows', 'db', 'time_lag_max_s', 2.5, { pillow: 'x' }),
        gapSample(now, { name: 'redis@c', source: 'redis', host: 'c' }, new Error('connect ECONNREFUSED 127.0.0.1:6379')),
      ],
    });
    assert.match(line, /^03:04:05 \| cpu 42% iow 3\.1% /);
    assert.match(line, /\| pg 123 tps /);
    assert.match(line, /\| pillows lag 7 2\.5s/);
    assert.match(line, /GAP redis@c: connect ECONNREFUSED 127\.0\.0\.1:6379$/);
    assert.doesNotMatch(line, /redis \d/, 'a source that is a gap shows no figures');
  });
});
