import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { describe, it } from 'node:test';
import {
  hostSamples,
  parseDiskstats,
  parseNetDev,
  parseProcStat,
  readProcSnapshot,
  snapshotFromNodeExporter,
  type HostSnapshot,
} from './host.ts';
import { RateTracker } from './rates.ts';
import type { Sample } from './types.ts';

const fixture = fs.readFileSync(new URL('./fixtures/node-exporter-1.5.0.txt', import.meta.url), 'utf8');
const val = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('host snapshots', () => {
  it('reads a recorded node_exporter 1.5.0 page', () => {
    const s = snapshotFromNodeExporter(fixture);
    assert.equal(s.cpus, 2);
    assert.equal(+s.cpu.idle.toFixed(2), +(532.05 + 503.17).toFixed(2));
    assert.equal(+s.cpu.iowait.toFixed(2), +(0.64 + 6.07).toFixed(2));
    assert.equal(s.mem.totalBytes, 2.5276063744e10);
    assert.equal(s.mem.availableBytes, 2.3620145152e10);
    assert.equal(s.vm.pgmajfault, 2258);
    assert.deepEqual(
      s.filesystems.map((f) => f.mountpoint),
      ['/'],
      'tmpfs, proc and cgroup filesystems are left out',
    );
    assert.deepEqual(s.disks.map((d) => d.device).sort(), ['vda', 'zram0']);
    assert.equal(s.disks.find((d) => d.device === 'vda')?.reads, 83978);
    assert.ok(s.net.some((n) => n.device === 'eth0' && n.rxBytes === 4.12094451e8));
  });

  it('reads /proc parsers on fixed text', () => {
    const stat = parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n');
    assert.equal(stat.cpus, 2);
    assert.equal(stat.cpu.user, 1);
    assert.equal(stat.cpu.iowait, 0.5);
    const disks = parseDiskstats(
      ' 254 0 vda 100 0 2000 10 50 0 4000 5 0 1500 15 0 0 0 0\n 254 1 vda1 1 0 2 0 0 0 0 0 0 0 0\n 7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n',
    );
    assert.deepEqual(disks, [
      { device: 'vda', reads: 100, readBytes: 2000 * 512, writes: 50, writtenBytes: 4000 * 512, ioTimeSeconds: 1.5 },
    ]);
    const net = parseNetDev(
      'Inter-|   Receive                                                |  Transmit\n' +
        ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
        '  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n',
    );
    assert.deepEqual(net, [{ device: 'eth0', rxBytes: 1000, rxPackets: 10, txBytes: 2000, txPackets: 20, errors: 4, drops: 6 }]);
  });

  it('reads this machine from /proc, agreeing with node:os', () => {
    const s = readProcSnapshot();
    assert.equal(s.cpus, os.cpus().length);
    assert.equal(s.mem.totalBytes, os.totalmem());
    assert.ok(
      s.filesystems.some((f) => f.mountpoint === '/'),
      'the root filesystem is sized',
    );
    assert.ok(s.net.length > 0);
  });
});

describe('hostSamples', () => {
  const base = (): HostSnapshot => ({
    cpu: { user: 100, nice: 0, system: 50, idle: 800, iowait: 50, irq: 0, softirq: 0, steal: 0 },
    cpus: 2,
    load1: 0.5,
    mem: { totalBytes: 1000, availableBytes: 250, swapTotalBytes: 100, swapFreeBytes: 60 },
    vm: { pswpin: 0, pswpout: 0, pgmajfault: 10 },
    filesystems: [{ mountpoint: '/', device: '/dev/vda', fstype: 'ext4', sizeBytes: 1000, availBytes: 300, freeBytes: 400 }],
    disks: [{ device: 'vda', reads: 0, readBytes: 0, writes: 0, writtenBytes: 0, ioTimeSeconds: 0 }],
    net: [{ device: 'eth0', rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, errors: 0, drops: 0 }],
  });

  it('computes CPU shares, paging, disk and network rates from two readings', () => {
    const rates = new RateTracker();
    const first = hostSamples(new Date(0), 'vm1', 'proc', base(), rates);
    assert.equal(val(first, 'cpu_busy_pct'), undefined, 'no CPU share from one reading');
    assert.equal(val(first, 'mem_used_pct'), 75);
    assert.equal(val(first, 'swap_used_bytes'), 40);
    assert.equal(val(first, 'fs_used_pct', { mountpoint: '/' })?.toFixed(6), (200 / 3).toFixed(6));
    const next = base();
    // 2 s on 2 CPUs = 4 CPU-seconds: 1 user, 0.5 system, 1 iowait, 1.5 idle
    Object.assign(next.cpu, { user: 101, system: 50.5, iowait: 51, idle: 801.5 });
    next.vm = { pswpin: 20, pswpout: 40, pgmajfault: 30 };
    next.disks[0] = { device: 'vda', reads: 200, readBytes: 2e6, writes: 100, writtenBytes: 4e6, ioTimeSeconds: 1 };
    next.net[0] = { device: 'eth0', rxBytes: 2000, txBytes: 4000, rxPackets: 20, txPackets: 40, errors: 2, drops: 0 };
    const s = hostSamples(new Date(2000), 'vm1', 'proc', next, rates);
    assert.equal(val(s, 'cpu_user_pct'), 25);
    assert.equal(val(s, 'cpu_system_pct'), 12.5);
    assert.equal(val(s, 'cpu_iowait_pct'), 25);
    assert.equal(val(s, 'cpu_idle_pct'), 37.5);
    assert.equal(val(s, 'cpu_busy_pct'), 37.5);
    assert.equal(val(s, 'swap_in_pages_per_s'), 10);
    assert.equal(val(s, 'swap_out_pages_per_s'), 20);
    assert.equal(val(s, 'major_faults_per_s'), 10);
    assert.equal(val(s, 'disk_reads_per_s', { device: 'vda' }), 100);
    assert.equal(val(s, 'disk_write_bytes_per_s', { device: 'vda' }), 2e6);
    assert.equal(val(s, 'disk_util_pct', { device: 'vda' }), 50);
    assert.equal(val(s, 'net_rx_bytes_per_s', { device: 'eth0' }), 1000);
    assert.equal(val(s, 'net_errors_per_s', { device: 'eth0' }), 1);
    assert.ok(s.every((x) => x.host === 'vm1' && x.source === 'host' && x.labels.via === 'proc'));
  });
});
