import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic } from '../core/fs.ts';
import { groupPids, isAlive, ownedPid, pidFile, readPidRecord, startDetached, stopOwned, tailFile } from './process.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-proc-'));

describe('process control', () => {
  it('starts a detached process group, tracks it by pid and stops the whole group', async () => {
    const dir = tmp();
    const marker = `marker-${process.pid}-${Date.now()}`;
    // a shell that starts a child: stopping must take both down
    const rec = startDetached({
      name: 'sleeper',
      command: 'bash',
      args: ['-c', `sleep 30 & sleep 31; echo ${marker}`],
      runDir: dir,
      logFile: path.join(dir, 'sleeper.log'),
      marker,
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ownedPid(dir, 'sleeper'), rec.pid);
    assert.ok(groupPids(rec.pid).length >= 2, 'shell and its sleep child are in the group');
    assert.equal(await stopOwned(dir, 'sleeper', 2000), true);
    assert.equal(isAlive(rec.pid), false);
    assert.deepEqual(groupPids(rec.pid), []);
    assert.equal(fs.existsSync(pidFile(dir, 'sleeper')), false);
    assert.match(fs.readFileSync(path.join(dir, 'sleeper.log'), 'utf8'), /capacity starts sleeper/);
  });

  it('the "starts" line masks the password of a URL on the command line (issue 14)', async () => {
    const dir = tmp();
    const log = path.join(dir, 'web.log');
    const rec = startDetached({
      name: 'web',
      command: 'true',
      args: ['--pg-url', 'postgres://capacity:hunter2-secret@127.0.0.1:5432/db'],
      runDir: dir,
      logFile: log,
      marker: 'true',
    });
    await new Promise((r) => setTimeout(r, 100));
    const text = fs.readFileSync(log, 'utf8');
    assert.match(text, /capacity starts web: true --pg-url postgres:\/\/capacity:\*\*\*@127\.0\.0\.1:5432\/db/);
    assert.ok(!text.includes('hunter2-secret'));
    assert.ok(rec.pid > 0);
  });

  it('never signals a pid that no longer belongs to the process it started', async () => {
    const dir = tmp();
    // A pid file that points at this test process (alive) but with another marker: a reused pid.
    writeFileAtomic(
      pidFile(dir, 'ghost'),
      JSON.stringify({
        pid: process.pid,
        name: 'ghost',
        marker: 'not-in-my-cmdline-xyz',
        logFile: '/dev/null',
        startedAt: new Date().toISOString(),
      }),
    );
    assert.equal(ownedPid(dir, 'ghost'), undefined);
    assert.equal(await stopOwned(dir, 'ghost'), false);
    assert.equal(isAlive(process.pid), true);
    assert.equal(readPidRecord(dir, 'ghost'), undefined, 'stale pid file removed');
  });

  it('tails the last lines of a log', () => {
    const dir = tmp();
    const f = path.join(dir, 'x.log');
    fs.writeFileSync(f, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
    assert.deepEqual(tailFile(f, 3), ['line 97', 'line 98', 'line 99']);
    assert.deepEqual(tailFile(path.join(dir, 'missing.log')), []);
  });
});
