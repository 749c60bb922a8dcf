// A celery-like worker process for exports: `export-worker.ts --name celery-1 --concurrency 2 --max-tasks-per-child 1
// ...` takes tasks from RabbitMQ (acks late, prefetch = concurrency) and runs each in one of `concurrency` child
// processes (hq/export-child.ts), replaced after --max-tasks-per-child tasks, as celery's prefork pool does. It keeps
// its liveness in Redis; each task's status is kept there by the child running it.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { applySchema, createPool, waitForDatabase } from './db.ts';
import { TaskConsumer, type Delivery } from './export-queue.ts';
import { PreforkPool } from './prefork-pool.ts';

const HEARTBEAT_MS = 5000;
const CHILD_ENTRY = fileURLToPath(new URL('./export-child.ts', import.meta.url));

export const workerKey = (name: string) => `hq:celery:worker:${name}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string', default: 'celery' },
      concurrency: { type: 'string', default: '2' },
      'max-tasks-per-child': { type: 'string', default: '1' },
      amqp: { type: 'string' },
      redis: { type: 'string' },
      'pg-url': { type: 'string' },
      blobs: { type: 'string' },
    },
  });
  const name = values.name!;
  const concurrency = Number(values.concurrency);
  const maxTasksPerChild = Number(values['max-tasks-per-child']);
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${name}: ${m}\n`);
  // the schema once, before the children connect
  const db = createPool(values['pg-url']!, 1);
  await waitForDatabase(db);
  await applySchema(db);
  await db.end();
  const redis = new Redis(values.redis!, { maxRetriesPerRequest: 3, retryStrategy: () => 500 });
  redis.on('error', () => undefined);
  const pool = new PreforkPool({
    entry: CHILD_ENTRY,
    args: ['--name', name, '--redis', values.redis!, '--pg-url', values['pg-url']!, '--blobs', values.blobs!],
    size: concurrency,
    maxTasksPerChild,
    log,
  });
  await pool.start();
  // A redelivered copy of a task one of this worker's children still runs waits for that run (which then leaves the
  // status done), where a child alone could not tell its sibling's run from a dead one under the same worker name.
  const running = new Map<string, Promise<void>>();
  const handle = async (d: Delivery): Promise<void> => {
    const id = d.task.downloadId;
    while (running.has(id)) await running.get(id)!.catch(() => undefined);
    const run = pool.run(d);
    running.set(id, run);
    try {
      await run;
    } finally {
      running.delete(id);
    }
  };
  const consumer = new TaskConsumer(values.amqp!, concurrency, handle, log);
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
    redis
      .set(workerKey(name), JSON.stringify({ pid: process.pid, concurrency, busy: consumer.busy, children: pool.pids }), 'EX', 15)
      .catch(() => undefined);
  await alive();
  setInterval(() => void alive(), HEARTBEAT_MS).unref();
  log(
    `consuming with concurrency ${concurrency} (children ${pool.pids.join(', ')}; each replaced after ${maxTasksPerChild || 'no limit of'} task(s))`,
  );
  const shutdown = () => {
    log('stopping');
    void consumer
      .stop()
      .then(() => pool.stop())
      .finally(() => {
        redis.disconnect();
        process.exit(0);
      });
    setTimeout(() => process.exit(0), 8000).unref();
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
