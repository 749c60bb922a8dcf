import assert from 'node:assert/strict';
import { test } from 'node:test';
import { componentSamples } from './container-processes.ts';
import type { DockerStats } from './docker-stats.ts';
import { RateTracker } from './rates.ts';

const stats = (read: string, cpuNs: number, usage: number, inactive: number): DockerStats => ({
  read,
  cpu_stats: { cpu_usage: { total_usage: cpuNs } },
  memory_stats: { usage, stats: { inactive_file: inactive } },
  pids_stats: { current: 7 },
});

test("a component's container gives the local stack's process samples: CPU seconds and cores, memory less page cache", () => {
  const rates = new RateTracker();
  const now = new Date('2026-12-05T08:00:00Z');
  const first = componentSamples(now, 'localhost', 'web-2', stats('2026-12-05T08:00:00Z', 10e9, 300e6, 100e6), rates)!;
  assert.deepEqual(
    first.map((s) => [s.source, s.metric, s.value, s.labels]),
    [
      ['process', 'cpu_seconds', 10, { process: 'web-2', service: 'django' }],
      ['process', 'rss_bytes', 200e6, { process: 'web-2', service: 'django' }],
      ['process', 'processes', 7, { process: 'web-2', service: 'django' }],
    ],
  );
  const second = componentSamples(now, 'localhost', 'web-2', stats('2026-12-05T08:00:02Z', 11e9, 300e6, 100e6), rates)!;
  assert.equal(second.find((s) => s.metric === 'cpu_cores')?.value, 0.5, 'one CPU second in two');
  // restarted: the counter starts again, no negative rate
  const restarted = componentSamples(now, 'localhost', 'web-2', stats('2026-12-05T08:00:04Z', 1e8, 300e6, 100e6), rates)!;
  assert.equal(
    restarted.find((s) => s.metric === 'cpu_cores'),
    undefined,
  );
  assert.equal(componentSamples(now, 'localhost', 'pillow-ucr', stats('0001-01-01T00:00:00Z', 0, 0, 0), rates), undefined, 'stopped');
  assert.equal(componentSamples(now, 'h', 'postgres', stats('2026-12-05T08:00:00Z', 1, 1, 0), rates)![0]!.labels.service, 'postgresql');
});
