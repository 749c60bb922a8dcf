import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { parsePrometheusText } from './prometheus-text.ts';

const fixture = fs.readFileSync(new URL('./fixtures/node-exporter-1.5.0.txt', import.meta.url), 'utf8');

describe('parsePrometheusText', () => {
  it('reads every sample line of a recorded node_exporter 1.5.0 page', () => {
    const samples = parsePrometheusText(fixture);
    const lines = fixture.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.equal(samples.length, lines.length);
    const idle0 = samples.find((s) => s.name === 'node_cpu_seconds_total' && s.labels.cpu === '0' && s.labels.mode === 'idle');
    assert.equal(idle0?.value, 532.05);
    const root = samples.find((s) => s.name === 'node_filesystem_size_bytes' && s.labels.mountpoint === '/');
    assert.equal(root?.value, 2.70553174016e11);
    assert.deepEqual(root?.labels, { device: '/dev/vda', fstype: 'ext4', mountpoint: '/' });
  });

  it('filters by name before parsing labels', () => {
    const samples = parsePrometheusText(fixture, (n) => n === 'node_load1');
    assert.deepEqual(samples, [{ name: 'node_load1', labels: {}, value: 0.46 }]);
  });

  it('handles escapes, commas and braces in label values, special values and timestamps', () => {
    const text = [
      '# HELP x_total A counter',
      '# TYPE x_total counter',
      'x_total{path="C:\\\\dir",msg="say \\"hi\\", {ok}\\nbye"} 3 1700000000000',
      'y NaN',
      'z{a="1",} +Inf',
      'w -Inf',
      'v 1.5e-3',
    ].join('\n');
    const s = parsePrometheusText(text);
    assert.deepEqual(s[0], { name: 'x_total', labels: { path: 'C:\\dir', msg: 'say "hi", {ok}\nbye' }, value: 3 });
    assert.ok(Number.isNaN(s[1]!.value));
    assert.deepEqual(s[2], { name: 'z', labels: { a: '1' }, value: Infinity });
    assert.equal(s[3]!.value, -Infinity);
    assert.equal(s[4]!.value, 0.0015);
  });

  it('names the line of a malformed sample', () => {
    assert.throws(() => parsePrometheusText('ok 1\nbad{a=1} 2'), /line 2: label value of "a" is not quoted/);
    assert.throws(() => parsePrometheusText('x abc'), /line 1: bad value "abc"/);
    assert.throws(() => parsePrometheusText('x{a="1" 2'), /line 1/);
  });
});
