import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { containerLimits, dockerSamples, dockerSocketPath, memoryUsed, type DockerInspect, type DockerStats } from './docker-stats.ts';
import { RateTracker } from './rates.ts';
import type { Sample } from './types.ts';

// Recorded from Docker 20.10.24 (cgroup v1): a container run with --cpus 0.5 --memory 64m spinning a shell loop.
const fixture = <T>(name: string) => JSON.parse(fs.readFileSync(new URL(`./fixtures/docker/${name}`, import.meta.url), 'utf8')) as T;
const busy1 = fixture<DockerStats>('stats-busy-1.json');
const busy2 = fixture<DockerStats>('stats-busy-2.json');
const inspect = fixture<DockerInspect>('inspect-busy.json');
const val = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('docker stats collector', () => {
  it('takes the limits from inspect: --cpus as cores, --memory as bytes', () => {
    const l = containerLimits(inspect, busy1);
    assert.deepEqual(l, { cpuCores: 0.5, cpuLimited: true, memBytes: 64 * 1024 * 1024, memLimited: true });
    const quota = containerLimits({ Id: 'x', HostConfig: { CpuQuota: 150_000, CpuPeriod: 100_000 } }, busy1);
    assert.equal(quota.cpuCores, 1.5);
    const none = containerLimits({ Id: 'x', HostConfig: {} }, busy1);
    assert.equal(none.cpuCores, 2, 'no limit: the online CPUs');
    assert.equal(none.cpuLimited, false);
    assert.equal(none.memBytes, busy1.memory_stats.limit);
  });

  it('a busy loop under --cpus 0.5 is about 100 % of its limit and throttled', () => {
    const rates = new RateTracker();
    const limits = containerLimits(inspect, busy1);
    const first = dockerSamples(new Date(busy1.read), 'pillow1', 'rehearsal-pillow1', busy1, limits, rates);
    // first reading: CPU from the engine's own previous reading (precpu_stats)
    assert.ok(val(first, 'cpu_limit_pct')! > 90 && val(first, 'cpu_limit_pct')! <= 105, `first ${val(first, 'cpu_limit_pct')}`);
    assert.equal(val(first, 'cpu_throttled_pct'), undefined, 'throttling is a rate: none on the first reading');
    const second = dockerSamples(new Date(busy2.read), 'pillow1', 'rehearsal-pillow1', busy2, limits, rates);
    const expected =
      (busy2.cpu_stats.cpu_usage.total_usage - busy1.cpu_stats.cpu_usage.total_usage) /
      1e9 /
      ((Date.parse(busy2.read) - Date.parse(busy1.read)) / 1000);
    assert.ok(Math.abs(val(second, 'cpu_cores')! - expected) < 1e-9);
    assert.ok(val(second, 'cpu_limit_pct')! > 95 && val(second, 'cpu_limit_pct')! < 101, `${val(second, 'cpu_limit_pct')}`);
    assert.equal(val(second, 'cpu_busy_pct'), Math.min(100, val(second, 'cpu_limit_pct')!));
    assert.ok(val(second, 'cpu_throttled_pct')! > 90);
    assert.equal(val(second, 'cpu_limit_cores'), 0.5);
    assert.equal(val(second, 'mem_limit_bytes'), 64 * 1024 * 1024);
    assert.ok(val(second, 'mem_limit_pct')! > 0 && val(second, 'mem_limit_pct')! < 5);
    assert.ok(second.every((s) => s.source === 'host' && s.host === 'pillow1' && s.labels.via === 'docker'));
    assert.ok(val(second, 'net_rx_bytes_per_s', { device: 'eth0' }) !== undefined);
  });

  it('memory leaves out the inactive page cache, block I/O sums the devices', () => {
    assert.equal(memoryUsed({ usage: 1000, stats: { total_inactive_file: 300 } }), 700);
    assert.equal(memoryUsed({ usage: 1000, stats: { inactive_file: 200 } }), 800, 'cgroup v2 name');
    assert.equal(memoryUsed({ usage: 1000, stats: {} }), 1000);
    const at = (sec: number, readBytes: number): DockerStats => ({
      read: new Date(Date.UTC(2026, 11, 5, 3, 0, sec)).toISOString(),
      cpu_stats: { cpu_usage: { total_usage: sec * 1e9 } },
      memory_stats: { usage: 100, stats: {} },
      blkio_stats: {
        io_service_bytes_recursive: [
          { op: 'Read', value: readBytes },
          { op: 'Write', value: 10 * sec },
          { op: 'Total', value: readBytes + 10 * sec },
        ],
        io_serviced_recursive: null,
      },
    });
    const rates = new RateTracker();
    const l = { cpuCores: 2, cpuLimited: false, memBytes: 1000, memLimited: true };
    dockerSamples(new Date(), 'db', 'c', at(0, 0), l, rates);
    const s = dockerSamples(new Date(), 'db', 'c', at(2, 4096), l, rates);
    assert.equal(val(s, 'disk_read_bytes_per_s'), 2048);
    assert.equal(val(s, 'disk_write_bytes_per_s'), 10);
    assert.equal(val(s, 'cpu_limit_pct'), 50, 'one core of two');
    assert.equal(val(s, 'mem_limit_pct'), 10);
  });

  it('finds the socket in DOCKER_HOST', () => {
    assert.equal(dockerSocketPath({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }), '/run/user/1000/docker.sock');
    assert.equal(dockerSocketPath({}), '/var/run/docker.sock');
  });
});
