import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import { confirmationLine, formatPlan, planRun } from './run-plan.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-plan-'));
const creds = path.join(dir, 'creds.csv');
fs.writeFileSync(creds, 'w1@d.commcarehq.org,p1\nw2@d.commcarehq.org,p2\nw3@d.commcarehq.org,p3\n');
const remote = {
  scenario: 'mixed-day' as const,
  target: 'https://hq.example.org',
  allowRemote: true,
  domain: 'd',
  app: 'household',
  users: 3,
  credentialsFile: creds,
  shape: { rate: 2, durationS: 600 },
};

describe('the plan of a run', () => {
  it('totals, rates and who sends, with no password anywhere', () => {
    const p = planRun(remote);
    assert.equal(p.remote, true);
    assert.deepEqual(
      [p.durationS, p.submissions, p.restores, p.searches, p.exports, p.apiPages, p.peakRate],
      [600, 1205, 240, 120, 10, 120, 2.82],
    );
    assert.deepEqual(p.workers.logins, ['w1@d.commcarehq.org', 'w2@d.commcarehq.org', 'w3@d.commcarehq.org']);
    const text = formatPlan(p);
    assert.match(text, /^dry run: nothing is sent\n/);
    assert.match(text, /target: +https:\/\/hq\.example\.org \(not on this machine\), domain d/);
    assert.match(text, /totals: +up to 1205 forms, 240 restores, 120 case searches, 10 exports, 120 data API pages$/m);
    assert.match(text, /forms: +app household: register_household \(register\)/);
    assert.doesNotMatch(text, /p1|p2|p3/);
    assert.equal(
      confirmationLine(p),
      'mixed-day will send up to 1205 forms, 240 restores, 120 case searches, 10 exports, 120 data API pages over 600 s (base 2/s, peak 2.82/s, ceiling --max-rate 300/s) ' +
        'as 3 mobile workers to https://hq.example.org, domain d.',
    );
    assert.equal(planRun({ ...remote, target: 'http://127.0.1.5:8080' }).remote, false);
    assert.equal(planRun({ ...remote, target: 'local' }).remote, false);
  });

  it('refuses what the run would: a rate above the ceiling, fewer credentials than workers, a remote target not allowed', () => {
    const refuses = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof UserError && re.test(e.message));
    refuses(
      () => planRun({ ...remote, shape: { rate: 10, maxRate: 5 } }),
      /mixed-day would ask 13.22 requests\/s at its peak, above --max-rate 5/,
    );
    refuses(
      () => planRun({ ...remote, users: 4 }),
      /^--users 4 needs 4 mobile workers and .*creds\.csv has 3: pass --users 3, or create more with capacity workers create --count 4$/,
    );
    refuses(() => planRun({ ...remote, allowRemote: false }), /not on this machine: pass --allow-remote/);
  });

  it('the CLI: --dry-run prints the plan and exits 0; a remote target without a terminal is refused without --yes, nothing sent', () => {
    const cli = path.join(repoRoot, 'capacity');
    const args = [
      'run',
      'mixed-day',
      '--target',
      'https://hq.example.org',
      '--allow-remote',
      '--credentials',
      creds,
      '--users',
      '3',
      '--rate',
      '2',
      '--duration',
      '10m',
    ];
    const dry = spawnSync(cli, [...args, '--dry-run'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: nothing is sent\n/);
    const refused = spawnSync(cli, [...args, '--results', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(refused.status, 2);
    assert.equal(
      refused.stderr,
      'capacity: mixed-day will send up to 1205 forms, 240 restores, 120 case searches, 10 exports, 120 data API pages over 600 s (base 2/s, peak 2.82/s, ceiling --max-rate 300/s) ' +
        'as 3 mobile workers to https://hq.example.org, domain d. No terminal to confirm on: pass --yes to go ahead.\n'.replace(
          'domain d.',
          'domain capacity-load.',
        ),
    );
    assert.deepEqual(fs.readdirSync(dir), ['creds.csv'], 'no results folder');
  });
});
