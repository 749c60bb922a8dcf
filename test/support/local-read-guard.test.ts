import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stackPaths } from '../../core/paths.ts';
import { judgeTrace } from './local-read-guard.ts';

const home = stackPaths('/srv/capacity-home');
const k6 = '/srv/capacity-home/bin/k6';

describe('the local-read guard reading an strace log', () => {
  it('k6 reading the CPU count is its own, even when strace splits its execve in two', () => {
    const lines = [
      `100 execve("/usr/bin/node", ["node", "--import", "tsx", "cli/main.ts"], 0x1 /* 9 vars */) = 0`,
      `100 clone(child_stack=NULL, flags=SIGCHLD) = 101`,
      `101 execve("${k6}", ["${k6}", "run", "x.js"], 0x2 /* 9 vars */ <unfinished ...>`,
      `100 openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3`,
      `101 <... execve resumed>) = 0`,
      `101 openat(AT_FDCWD, "/proc/stat", O_RDONLY|O_CLOEXEC) = 5`,
      `101 statfs("/proc", {f_type=PROC_SUPER_MAGIC}) = 0`,
    ];
    assert.deepEqual(judgeTrace(lines, '/', home).violations, []);
  });

  it('the node process reading /proc/stat, or a split execve that failed, is still caught', () => {
    const lines = [
      `100 execve("/usr/bin/node", ["node", "cli/main.ts"], 0x1 /* 9 vars */) = 0`,
      `100 openat(AT_FDCWD, "/proc/stat", O_RDONLY|O_CLOEXEC) = 5`,
      `100 clone(child_stack=NULL, flags=SIGCHLD) = 102`,
      `102 execve("${k6}", ["${k6}", "run"], 0x2 /* 9 vars */ <unfinished ...>`,
      `102 <... execve resumed>) = -1 ENOENT (No such file or directory)`,
      `102 openat(AT_FDCWD, "/proc/stat", O_RDONLY|O_CLOEXEC) = 5`,
      `100 openat(AT_FDCWD, "/srv/capacity-home/state.json", O_RDONLY) = 6`,
    ];
    const { violations, checked } = judgeTrace(lines, '/', home);
    assert.equal(violations.length, 3, violations.join('\n'));
    assert.match(violations[0]!, /^100 \(node cli\/main\.ts\) reads \/proc/);
    assert.match(violations[1]!, /^102 \(node cli\/main\.ts\) reads \/proc/);
    assert.match(violations[2]!, /touches the local stack's files/);
    assert.ok(checked >= 5);
  });
});
