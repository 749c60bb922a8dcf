import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PreforkPool } from './prefork-pool.ts';

const entry = fileURLToPath(new URL('../test/support/pool-child.ts', import.meta.url));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (ok: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

function pool(size: number, maxTasksPerChild: number, log: string[] = []) {
  return new PreforkPool({ entry, args: [], size, maxTasksPerChild, log: (m) => log.push(m) });
}

describe('PreforkPool', { timeout: 60_000 }, () => {
  it('runs tasks in its children and replaces each after max-tasks-per-child', async () => {
    const p = pool(2, 1);
    await p.start();
    const first = p.pids;
    assert.equal(first.length, 2);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pool-')), 'pids');
    for (let i = 0; i < 3; i++) await Promise.all([p.run({ act: 'ok', log: file }), p.run({ act: 'ok', log: file })]);
    const ran = fs.readFileSync(file, 'utf8').trim().split('\n').map(Number);
    // six tasks, one per child: six different processes, none of them the two first ones after the first round
    assert.equal(new Set(ran).size, 6);
    await until(() => p.pids.length === 2);
    assert.ok(p.pids.every((pid) => !first.includes(pid)));
    await until(() => first.every((pid) => !alive(pid)));
    await p.stop();
  });

  it('keeps a child for its later tasks when max-tasks-per-child is 0, and runs at most size tasks at once', async () => {
    const p = pool(2, 0);
    await p.start();
    const before = p.pids;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pool-')), 'pids');
    await Promise.all(Array.from({ length: 6 }, () => p.run({ act: 'ok', ms: 100, log: file })));
    const ran = fs.readFileSync(file, 'utf8').trim().split('\n').map(Number);
    assert.deepEqual([...new Set(ran)].sort(), [...before].sort());
    assert.deepEqual(p.pids, before);
    await p.stop();
    assert.ok(before.every((pid) => !alive(pid)));
  });

  it("rejects with the task's error, and with the child's death, and forks a child in place of a dead one", async () => {
    const log: string[] = [];
    const p = pool(1, 0, log);
    await p.start();
    const [pid] = p.pids;
    await assert.rejects(p.run({ act: 'fail' }), /the task failed as asked/);
    assert.deepEqual(p.pids, [pid]);
    await assert.rejects(p.run({ act: 'die' }), /exited \(code 3\) during the task/);
    await until(() => p.pids.length === 1 && p.pids[0] !== pid);
    await p.run({ act: 'ok' }); // the new child takes tasks
    assert.ok(log.some((m) => /exited \(code 3\); forking another/.test(m)));
    await p.stop();
  });

  it('stop lets a running task finish and ends every child; a task asked for after stop is refused', async () => {
    const p = pool(2, 0);
    await p.start();
    const pids = p.pids;
    const running = p.run({ act: 'ok', ms: 300 });
    await new Promise((r) => setTimeout(r, 50));
    await p.stop();
    await running;
    assert.ok(pids.every((pid) => !alive(pid)));
    await assert.rejects(p.run({ act: 'ok' }), /stopping/);
  });
});
