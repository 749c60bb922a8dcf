import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { kafkaLogBytes, parsePidStat, processCollector, readAllProcStats, serviceOfComponent, treeTotals } from './local-stack.ts';

/** A /proc/<pid>/stat line with the given fields (utime, stime, cutime, cstime in ticks; rss in pages). */
function statLine(pid: number, comm: string, ppid: number, utime: number, stime: number, cutime = 0, cstime = 0, rssPages = 0): string {
  const f = new Array(50).fill('0');
  // f[i] is field i + 3
  f[0] = 'S';
  f[1] = String(ppid);
  f[11] = String(utime);
  f[12] = String(stime);
  f[13] = String(cutime);
  f[14] = String(cstime);
  f[21] = String(rssPages);
  return `${pid} (${comm}) ${f.join(' ')}\n`;
}

function fakeProc(procs: Array<[number, string, number, number, number, number, number, number]>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-proc-'));
  for (const [pid, comm, ppid, u, s, cu, cs, rss] of procs) {
    fs.mkdirSync(path.join(root, String(pid)));
    fs.writeFileSync(path.join(root, String(pid), 'stat'), statLine(pid, comm, ppid, u, s, cu, cs, rss));
  }
  fs.mkdirSync(path.join(root, 'self'));
  return root;
}

describe('local stack collectors', () => {
  it('parses /proc/<pid>/stat with spaces and parentheses in the command name', () => {
    const s = parsePidStat(statLine(42, 'postgres: a (b) c', 7, 250, 50, 100, 20, 1000));
    assert.deepEqual(s, { pid: 42, ppid: 7, cpuSeconds: 4.2, rssBytes: 4096_000 });
    assert.throws(() => parsePidStat('garbage'));
  });

  it('reads this machine: its own process is there with a positive RSS', () => {
    const all = readAllProcStats();
    const me = all.get(process.pid);
    assert.ok(me && me.rssBytes > 0);
    assert.ok(treeTotals(all, process.pid)!.processes >= 1);
  });

  it('sums a process tree (backends, workers) and leaves other processes out', () => {
    const procRoot = fakeProc([
      [10, 'postgres', 1, 100, 100, 300, 0, 10], // 5 s incl. reaped children
      [11, 'postgres: backend', 10, 150, 50, 0, 0, 5], // 2 s
      [12, 'postgres: walwriter', 10, 10, 10, 0, 0, 1], // 0.2 s
      [13, 'grandchild', 12, 30, 0, 0, 0, 1], // 0.3 s
      [20, 'other', 1, 9999, 0, 0, 0, 99],
    ]);
    const all = readAllProcStats(procRoot);
    const t = treeTotals(all, 10)!;
    assert.equal(t.processes, 4);
    assert.ok(Math.abs(t.cpuSeconds - 7.5) < 1e-9);
    assert.equal(t.rssBytes, 17 * 4096);
    assert.equal(treeTotals(all, 99), undefined);
  });

  it('process collector: cumulative CPU, a rate from the second tick, a gap for a component that is not running', async () => {
    const procRoot = fakeProc([
      [100, 'node web.ts', 1, 200, 100, 0, 0, 1000],
      [200, 'java', 1, 500, 0, 0, 0, 2000],
    ]);
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-run-'));
    fs.writeFileSync(path.join(runDir, 'web-1.pid.json'), JSON.stringify({ pid: 100, name: 'web-1' }));
    fs.writeFileSync(path.join(runDir, 'kafka.pid.json'), JSON.stringify({ pid: 200, name: 'kafka' }));
    fs.writeFileSync(path.join(runDir, 'redis.pid.json'), JSON.stringify({ pid: 300, name: 'redis' }));
    fs.writeFileSync(path.join(runDir, 'stack.json'), '{}');
    const c = processCollector({ runDir, host: 'localhost' }, { procRoot });
    const first = await c.sample(new Date(1_000_000));
    const cpu = (ss: typeof first, p: string, m: string) => ss.find((s) => s.labels.process === p && s.metric === m)?.value;
    assert.equal(cpu(first, 'web-1', 'cpu_seconds'), 3);
    assert.equal(first.find((s) => s.labels.process === 'web-1')!.labels.service, 'django');
    assert.equal(cpu(first, 'web-1', 'cpu_cores'), undefined, 'no rate on the first tick');
    const gap = first.find((s) => s.gap)!;
    assert.equal(gap.labels.part, 'redis');
    assert.match(gap.error!, /pid 300 is not running/);
    // web-1 uses 1.5 CPU s over the next 2 s
    fs.writeFileSync(path.join(procRoot, '100', 'stat'), statLine(100, 'node web.ts', 1, 300, 150, 0, 0, 1000));
    const second = await c.sample(new Date(1_002_000));
    assert.equal(cpu(second, 'web-1', 'cpu_cores'), 0.75);
    assert.equal(cpu(second, 'kafka', 'cpu_cores'), 0);
    assert.equal(cpu(second, 'kafka', 'rss_bytes'), 2000 * 4096);
  });

  it('process collector: no pid files is an error (the sampler makes it a gap)', async () => {
    const c = processCollector({ runDir: path.join(os.tmpdir(), 'no-such-run-dir'), host: 'localhost' });
    await assert.rejects(c.sample(new Date()), /no pid files/);
  });

  it('kafka log bytes: *.log segments per topic, index files and metadata left out', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-kafka-'));
    const put = (p: string, bytes: number) => {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), Buffer.alloc(bytes));
    };
    put('form-sql-0/00000000000000000000.log', 1000);
    put('form-sql-0/00000000000000000000.index', 10_000);
    put('form-sql-1/00000000000000000000.log', 500);
    put('form-sql-1/00000000000000000042.log', 250);
    put('case-sql-0/00000000000000000000.log', 70);
    put('meta.properties', 10);
    assert.deepEqual(Object.fromEntries(kafkaLogBytes(dir)), { 'form-sql': 1750, 'case-sql': 70 });
  });

  it('names the service each component stands for', () => {
    assert.deepEqual(
      ['web-3', 'pillow-ucr', 'postgres', 'elasticsearch', 'kafka', 'nginx', 'redis', 'rabbitmq', 'celery-2'].map(serviceOfComponent),
      ['django', 'pillowtop', 'postgresql', 'elasticsearch', 'kafka', 'nginx', 'redis', 'rabbitmq', 'celery'],
    );
  });
});
