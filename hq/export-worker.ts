// A celery-like worker process for exports: `export-worker.ts --name celery-1 --concurrency 2 ...` takes tasks from
// RabbitMQ (acks late, prefetch = concurrency), runs each (hq/export-file.ts) and keeps its status in Redis.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { BlobStore } from './blobs.ts';
import { applySchema, createPool, waitForDatabase } from './db.ts';
import { writeExport } from './export-file.ts';
import { TaskConsumer, type Delivery } from './export-queue.ts';
import { DEADLINE_MS, ExportStatusStore, STALE_MS } from './export-status.ts';

/** A task that has failed this many times is marked failed rather than requeued again. */
export const MAX_ATTEMPTS = 3;
const HEARTBEAT_MS = 5000;

export const workerKey = (name: string) => `hq:celery:worker:${name}`;

export interface ExportWorkerDeps {
  pool: pg.Pool;
  blobs: BlobStore;
  statuses: ExportStatusStore;
  /** This worker's name (celery-1...) */
  name: string;
  log: (m: string) => void;
}

/** What a worker does with one delivery; throws to have the task requeued. */
export async function handleExportTask(deps: ExportWorkerDeps, { task, redelivered }: Delivery): Promise<void> {
  const { statuses, log } = deps;
  // A redelivered copy (the broker lost this worker's channel, or another worker's) while the first copy still runs
  // and beats: wait for it rather than export twice; take over only if it stops beating.
  let seen = await statuses.get(task.downloadId);
  while (
    redelivered &&
    seen?.state === 'running' &&
    (running.has(task.downloadId) || (seen.worker !== deps.name && Date.now() - seen.heartbeatAt < STALE_MS))
  ) {
    await new Promise((r) => setTimeout(r, 1000));
    seen = await statuses.get(task.downloadId);
  }
  if (seen?.state === 'done') return log(`${task.downloadId}: already done${redelivered ? ' (redelivered copy)' : ''}`);
  const before = await statuses.start(task.downloadId, deps.name);
  if (!before) return log(`${task.downloadId}: no status (expired); dropped`);
  if (before.state === 'done') return log(`${task.downloadId}: already done${redelivered ? ' (redelivered copy)' : ''}`);
  if (Date.now() - before.createdAt > DEADLINE_MS) {
    await statuses.fail(task.downloadId, `export not started within ${DEADLINE_MS / 1000} s`);
    return;
  }
  if (redelivered) log(`${task.downloadId}: redelivered (attempt ${before.attempts + 1})`);
  const beat = setInterval(() => void statuses.heartbeat(task.downloadId).catch(() => undefined), HEARTBEAT_MS);
  running.add(task.downloadId);
  try {
    const t0 = Date.now();
    const result = await writeExport(deps.pool, deps.blobs, task, (current, total) => statuses.progress(task.downloadId, current, total));
    await statuses.done(task.downloadId, result);
    log(`${task.downloadId}: ${task.kind} export of ${result.rows} rows in ${Date.now() - t0} ms`);
  } catch (err) {
    const message = (err as Error).message;
    if (before.attempts + 1 >= MAX_ATTEMPTS) {
      await statuses.fail(task.downloadId, `export failed after ${MAX_ATTEMPTS} attempts: ${message}`).catch(() => undefined);
      log(`${task.downloadId}: failed for good: ${message}`);
      return;
    }
    throw err;
  } finally {
    clearInterval(beat);
    running.delete(task.downloadId);
  }
}

/** The tasks this process is running now. */
const running = new Set<string>();

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string', default: 'celery' },
      concurrency: { type: 'string', default: '2' },
      amqp: { type: 'string' },
      redis: { type: 'string' },
      'pg-url': { type: 'string' },
      blobs: { type: 'string' },
    },
  });
  const name = values.name!;
  const concurrency = Number(values.concurrency);
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${name}: ${m}\n`);
  const pool = createPool(values['pg-url']!, concurrency + 1);
  await waitForDatabase(pool);
  await applySchema(pool);
  const redis = new Redis(values.redis!, { maxRetriesPerRequest: 3, retryStrategy: () => 500 });
  redis.on('error', () => undefined);
  const deps: ExportWorkerDeps = { pool, blobs: new BlobStore(values.blobs!), statuses: new ExportStatusStore(redis), name, log };
  const consumer = new TaskConsumer(values.amqp!, concurrency, (d) => handleExportTask(deps, d), log);
  for (let attempt = 1; ; attempt++) {
    try {
      await consumer.start();
      break;
    } catch (err) {
      if (attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  // alive and consuming: what the stack's health check and a person looking at Redis see
  const alive = () =>
    redis.set(workerKey(name), JSON.stringify({ pid: process.pid, concurrency, busy: consumer.busy }), 'EX', 15).catch(() => undefined);
  await alive();
  setInterval(() => void alive(), HEARTBEAT_MS).unref();
  log(`consuming with concurrency ${concurrency}`);
  const shutdown = () => {
    log('stopping');
    void consumer.stop().finally(() => {
      redis.disconnect();
      void pool.end().finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (process.argv[1]?.endsWith('export-worker.ts')) {
  main().catch((err) => {
    process.stderr.write(`export worker failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
