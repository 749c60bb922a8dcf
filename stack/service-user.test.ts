import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { currentUser, ensureServiceUser, grantPassage } from './service-user.ts';

const root = process.getuid?.() === 0;

describe('the service user', () => {
  it('needs nothing when the tool does not switch users', () => {
    const steps: string[] = [];
    grantPassage('/nonexistent/deep/dir', currentUser(), (m) => steps.push(m));
    assert.deepEqual(steps, []);
  });

  it('is let through a 0700 folder (as mktemp makes), and only once', { skip: root ? false : 'switching users needs root' }, () => {
    const user = ensureServiceUser(true);
    const locked = fs.mkdtempSync(path.join(os.tmpdir(), 'passage-'));
    const home = path.join(locked, 'checkout', '.capacity');
    fs.mkdirSync(home, { recursive: true });
    const canEnter = () => spawnSync('test', ['-x', home], { uid: user.uid, gid: user.gid }).status === 0;
    assert.equal(canEnter(), false, 'mktemp folders are 0700');
    const steps: string[] = [];
    grantPassage(home, user, (m) => steps.push(m));
    assert.equal(canEnter(), true);
    assert.deepEqual(steps, [`${locked}: the service user "${user.name}" may now pass through it (ACL u:${user.name}:x)`]);
    assert.equal(fs.statSync(locked).mode & 0o007, 0, 'nobody else gains anything');
    grantPassage(home, user, (m) => steps.push(m));
    assert.equal(steps.length, 1);
    fs.rmSync(locked, { recursive: true, force: true });
  });
});
