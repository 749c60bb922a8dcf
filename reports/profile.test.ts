import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { expectUserError } from '../test/support/user-error.ts';
import { sourceOfTarget, type Calibration, type CostSource } from './calibrate.ts';
import { buildProfile, median, profileCalibration, readProfile, withProfile, type ProfileRun } from './profile.ts';

function run(
  dir: string,
  source: CostSource | undefined,
  costs: Record<string, number | undefined>,
): { run: ProfileRun; calibration: Calibration } {
  const r: ProfileRun = { dir, formsAcknowledged: 100 };
  if (source) r.source = source;
  return {
    run: r,
    calibration: {
      counts: { formsAcknowledged: 100 },
      services: [{ kind: 'django', cpuSeconds: 1, meanCores: 0.1, peakRssBytes: 2e8, processes: ['web-1'], basis: 'test' }],
      notes: [],
      costs: Object.entries(costs).map(([key, value]) => ({
        key,
        label: key,
        unit: 'B',
        basis: value === undefined ? `no ${key} readings` : 'test',
        ...(value === undefined ? {} : { value }),
        ...(source ? { source } : {}),
      })),
    },
  };
}

describe('calibration profiles', () => {
  it("a run's source from its target kind", () => {
    assert.deepEqual(['local', 'containers', 'url', undefined].map(sourceOfTarget), [
      'local stand-in',
      'containers',
      'URL target',
      undefined,
    ]);
  });

  it('per cost: the median over the runs that measured it, the range, the spread and the sources', () => {
    const p = buildProfile(
      [
        run('a', 'local stand-in', { pg_bytes_per_form: 3000, web_cpu_per_form: 0.01, kafka_bytes_per_change: undefined }),
        run('b', 'local stand-in', { pg_bytes_per_form: 4000, web_cpu_per_form: 0.014 }),
        run('c', 'URL target', { pg_bytes_per_form: 3500 }),
      ],
      new Date('2026-12-04T00:00:00Z'),
    );
    assert.equal(p.format, 'capacity-calibration/1');
    assert.equal(p.createdAt, '2026-12-04T00:00:00.000Z');
    const pg = p.costs.find((c) => c.key === 'pg_bytes_per_form')!;
    assert.deepEqual([pg.value, pg.min, pg.max, pg.values], [3500, 3000, 4000, [3000, 4000, 3500]]);
    assert.ok(Math.abs(pg.spread - 1000 / 3500) < 1e-12);
    assert.deepEqual(pg.sources, ['local stand-in', 'URL target']);
    const web = p.costs.find((c) => c.key === 'web_cpu_per_form')!;
    assert.ok(Math.abs(web.value - 0.012) < 1e-12);
    assert.deepEqual(web.sources, ['local stand-in']);
    assert.deepEqual(p.notMeasured, [{ key: 'kafka_bytes_per_change', reason: 'no kafka_bytes_per_change readings' }]);
    assert.equal(median([5, 1, 3, 2]), 2.5);
  });

  it('as costs for report and plan: stand-in only when every run was; the run keeps its own RAM figures', () => {
    const p = buildProfile([
      run('a', 'local stand-in', { pg_bytes_per_form: 3000, web_cpu_per_form: 0.01 }),
      run('b', 'URL target', { pg_bytes_per_form: 4000 }),
    ]);
    const cal = profileCalibration(p, '/x/profile.json');
    assert.equal(cal.costs.find((c) => c.key === 'web_cpu_per_form')!.source, 'local stand-in');
    assert.equal(cal.costs.find((c) => c.key === 'pg_bytes_per_form')!.source, 'URL target');
    assert.match(
      cal.costs.find((c) => c.key === 'pg_bytes_per_form')!.basis,
      /^profile profile\.json: median of 2 runs, 2 runs from 3,000 to 4,000 \(spread 29 %\)$/,
    );
    const own = run('own', 'local stand-in', { pg_bytes_per_form: 1 }).calibration;
    const merged = withProfile(own, p, '/x/profile.json');
    assert.equal(merged.costs.find((c) => c.key === 'pg_bytes_per_form')!.value, 3500);
    assert.equal(merged.services[0]!.peakRssBytes, 2e8);
  });

  it('reads back what it wrote; a file that is not a profile is one line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-'));
    const file = path.join(dir, 'p.json');
    const p = buildProfile([run('a', 'containers', { es_bytes_per_form: 2600 })]);
    fs.writeFileSync(file, JSON.stringify(p));
    assert.deepEqual(readProfile(file), p);
    fs.writeFileSync(file, '{"format": "other"}');
    expectUserError(
      () => readProfile(file),
      /p\.json: not a calibration profile \(expected "format": "capacity-calibration\/1" from capacity calibrate\)$/,
    );
    fs.writeFileSync(file, JSON.stringify({ ...p, costs: [{ key: 'nope', value: 1 }] }));
    expectUserError(() => readProfile(file), /p\.json: costs\[0\]: needs a known "key" and a numeric "value"$/);
    expectUserError(() => readProfile(path.join(dir, 'missing.json')), /missing\.json: no such calibration profile$/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
