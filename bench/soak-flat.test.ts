import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flatness, type MemorySample } from './soak-flat.ts';

const series = (process: string, mb: (t: number) => number, end = 600): MemorySample[] =>
  Array.from({ length: end / 5 + 1 }, (_, i) => ({ t: i * 5, process, mb: mb(i * 5) }));

test('a flat process passes, one that keeps growing misses, the first minute is left out', () => {
  const rows = flatness(
    [
      ...series('flat', (t) => (t < 60 ? 50 : 200)), // warm-up in the first minute only
      ...series('leak', (t) => 200 + t / 2), // +0.5 MB a second
    ],
    0.1,
  );
  assert.deepEqual(
    rows.map((r) => [r.process, r.ok]),
    [
      ['flat', true],
      ['leak', false],
    ],
  );
  assert.equal(rows[0]!.second, 200);
  const leak = rows[1]!;
  // second minute: t = 60..115, mean 87.5 s -> 243.75 MB; last minute: t = 545..600, mean 572.5 s -> 486.25 MB
  assert.equal(leak.second, 243.75);
  assert.equal(leak.last, 486.25);
  assert.ok(Math.abs(leak.change - (486.25 / 243.75 - 1)) < 1e-12);
  // the climb goes on in the second half (30 MB a minute); the flat one's does not
  assert.ok(Math.abs(leak.slope - 30) < 1e-9);
  assert.equal(rows[0]!.slope, 0);
});

test('a drop beyond the tolerance is also outside it; a process missing from a window has no row', () => {
  const rows = flatness([...series('drop', (t) => (t < 300 ? 400 : 300)), ...series('late', () => 10).filter((s) => s.t > 200)], 0.1);
  assert.deepEqual(
    rows.map((r) => [r.process, r.ok, Number(r.change.toFixed(2))]),
    [['drop', false, -0.25]],
  );
  assert.equal(rows[0]!.slope, 0); // a step before the second half, none in it
});

test('a run shorter than three minutes is refused', () => {
  assert.throws(
    () =>
      flatness(
        series('x', () => 1, 120),
        0.1,
      ),
    /at least 3 minutes/,
  );
});
