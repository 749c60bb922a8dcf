import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pinnedLocustVersion } from './bench-tools.ts';
import { benchChecks } from './doctor.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-'));
after(() => fs.rmSync(home, { recursive: true, force: true }));

describe('doctor: the benchmarks’ tools', () => {
  it('lists wrk and Locust with version and state, and the one command that installs them', () => {
    const checks = benchChecks(home);
    assert.deepEqual(
      checks.map((c) => c.name),
      ['wrk', 'locust'],
    );
    const locust = checks[1]!;
    assert.deepEqual(locust, {
      name: 'locust',
      version: `- (pinned ${pinnedLocustVersion()})`,
      ok: false,
      state: 'missing',
      fix: 'run scripts/bootstrap.sh --bench',
    });
    assert.equal(checks[0]!.fix, 'run scripts/bootstrap.sh --bench');
  });

  it('shows the version found beside the pin when they differ', () => {
    const venv = path.join(home, 'venv', 'locust');
    fs.mkdirSync(path.join(venv, 'lib', 'python3.12', 'site-packages', 'locust-2.0.0.dist-info'), { recursive: true });
    fs.mkdirSync(path.join(venv, 'bin'));
    fs.writeFileSync(path.join(venv, 'bin', 'locust'), '');
    const locust = benchChecks(home)[1]!;
    assert.equal(locust.version, `2.0.0 (pinned ${pinnedLocustVersion()})`);
    assert.equal(locust.state, 'other version');
    assert.equal(locust.ok, false);
  });
});
