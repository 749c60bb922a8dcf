// One slot of a celery-like export worker: a child process of hq/export-worker.ts (its prefork pool) that runs the
// tasks its parent sends, one at a time, with connections of its own.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { BlobStore } from './blobs.ts';
import { createPool, waitForDatabase } from './db.ts';
import type { Delivery } from './export-queue.ts';
import { ExportStatusStore } from './export-status.ts';
import { handleExportTask } from './export-task.ts';
import { serveTasks } from './prefork-pool.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string', default: 'celery' },
      redis: { type: 'string' },
      'pg-url': { type: 'string' },
      blobs: { type: 'string' },
    },
  });
  const name = values.name!;
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${name}[${process.pid}]: ${m}\n`);
  const pool = createPool(values['pg-url']!, 2);
  await waitForDatabase(pool);
  const redis = new Redis(values.redis!, { maxRetriesPerRequest: 3, retryStrategy: () => 500 });
  redis.on('error', () => undefined);
  const deps = { pool, blobs: new BlobStore(values.blobs!), statuses: new ExportStatusStore(redis), name, log };
  serveTasks(
    (payload) => handleExportTask(deps, payload as Delivery),
    async () => {
      redis.disconnect();
      await pool.end();
    },
  );
}

main().catch((err) => {
  process.stderr.write(`export worker slot failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
