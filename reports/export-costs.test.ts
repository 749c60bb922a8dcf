// Export costs on a small synthetic results directory, figures worked out by hand in the comments.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadResults } from '../results-dir/index.ts';
import { exportCosts } from './export-costs.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TICKS = [0, 10, 20, 30].map((s) => T0 + s * 1000);

function series(source: string, metric: string, labels: Record<string, string>, values: number[]) {
  return values.map((value, i) =>
    JSON.stringify({ ts: new Date(TICKS[i]!).toISOString(), source, host: 'localhost', metric, value, labels }),
  );
}

async function costsOf(lines: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-costs-'));
  try {
    fs.writeFileSync(path.join(dir, 'samples.ndjson'), `${lines.join('\n')}\n`);
    const costs = exportCosts(await loadResults(dir));
    return Object.fromEntries(costs.map((c) => [c.key, c]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('export costs', () => {
  it('divides what the celery, RabbitMQ and Redis processes did by the exports and rows they finished', async () => {
    const c = await costsOf([
      // 30 s: 6 exports, 60,000 rows
      ...series('local_store', 'exports_done', {}, [10, 12, 14, 16]),
      ...series('local_store', 'exported_rows', {}, [1000, 21_000, 41_000, 61_000]),
      // two celery workers: +3 and +1.5 CPU s
      ...series('process', 'cpu_seconds', { process: 'celery-1', service: 'celery' }, [5, 6, 7, 8]),
      ...series('process', 'cpu_seconds', { process: 'celery-2', service: 'celery' }, [5, 5.5, 6, 6.5]),
      ...series('process', 'cpu_seconds', { process: 'rabbitmq', service: 'rabbitmq' }, [50, 50.2, 50.4, 50.6]),
      ...series('process', 'cpu_seconds', { process: 'redis', service: 'redis' }, [1, 1.1, 1.2, 1.3]),
      // 0.2 published/s and 0.2 delivered/s for 40 s (each tick holds 10 s) = 8 + 8 messages
      ...series('rabbitmq', 'publish_per_s', {}, [0.2, 0.2, 0.2, 0.2]),
      ...series('rabbitmq', 'deliver_per_s', {}, [0.2, 0.2, 0.2, 0.2]),
      // 10 commands/s for 40 s = 400; less 2 workers x 30 s / 5 = 12 keep-alives and 4 ticks x 2 collector reads = 8
      ...series('redis', 'commands_per_s', {}, [10, 10, 10, 10]),
    ]);
    assert.equal(c.celery_cpu_per_exported_row!.value, 4.5 / 60_000);
    assert.equal(c.celery_cpu_per_export!.value, 4.5 / 6);
    assert.equal(c.rows_per_export!.value, 10_000);
    assert.equal(c.rabbitmq_messages_per_export!.value, 16 / 6);
    assert.ok(Math.abs(c.rabbitmq_cpu_per_export!.value! - 0.6 / 6) < 1e-9);
    assert.equal(c.redis_ops_per_export!.value, (400 - 12 - 8) / 6);
    assert.match(c.celery_cpu_per_exported_row!.basis, /2 celery workers/);
  });

  it('says why when no export finished or nothing was sampled', async () => {
    const idle = await costsOf(series('local_store', 'exports_done', {}, [3, 3, 3, 3]));
    assert.equal(idle.celery_cpu_per_export!.value, undefined);
    assert.equal(idle.celery_cpu_per_export!.basis, 'no export finished in the window');
    const none = await costsOf(series('redis', 'commands_per_s', {}, [1, 1, 1, 1]));
    assert.match(none.redis_ops_per_export!.basis, /no export totals/);
  });
});
