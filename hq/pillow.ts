// A pillow process: `pillow.ts --pillow xform|case|ucr [--process 0 --of 1]`.
import { parseArgs } from 'node:util';
import { Client as EsClient } from '@elastic/elasticsearch';
import { BlobStore } from './blobs.ts';
import { applySchema, createPool, waitForDatabase } from './db.ts';
import { ensureTopics } from './outbox.ts';
import { runFeed, type FeedOptions } from './pillow-kafka.ts';
import { pillows } from './pillows.ts';

/** A consumer that has not fetched from Kafka for this long, while idle, is replaced. */
const STALL_MS = 30_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pillow: { type: 'string' },
      process: { type: 'string', default: '0' },
      of: { type: 'string', default: '1' },
      'pg-url': { type: 'string' },
      kafka: { type: 'string' },
      es: { type: 'string' },
      blobs: { type: 'string' },
      partitions: { type: 'string', default: '4' },
      'min-bytes': { type: 'string', default: process.env.CAPACITY_PILLOW_MIN_BYTES ?? '65536' },
      'max-wait-ms': { type: 'string', default: process.env.CAPACITY_PILLOW_MAX_WAIT_MS ?? '250' },
    },
  });
  const def = pillows[values.pillow ?? ''];
  if (!def) throw new Error(`unknown pillow ${values.pillow}: one of ${Object.keys(pillows).join(', ')}`);
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${def.checkpointId}: ${m}\n`);
  const pool = createPool(values['pg-url']!, 4);
  await waitForDatabase(pool);
  await applySchema(pool);
  const es = new EsClient({ node: values.es!, requestTimeout: 60_000 });
  const deps = { pool, es, blobs: new BlobStore(values.blobs!) };
  await def.setup(deps);
  await ensureTopics([values.kafka!], ['form-sql', 'case-sql'], Number(values.partitions));
  let processed = 0;
  let batches = 0;
  let reported = { processed: 0, batches: 0 };
  // A line a minute while busy: changes and batches (the batch size is what the bulk writes cost depends on).
  setInterval(() => {
    const n = processed - reported.processed;
    const b = batches - reported.batches;
    if (n > 0) log(`${n} changes in ${b} batches in the last minute (${(n / b).toFixed(1)} per batch)`);
    reported = { processed, batches };
  }, 60_000).unref();
  const feedOptions: FeedOptions = {
    brokers: [values.kafka!],
    checkpointId: def.checkpointId,
    topics: def.topics,
    processNum: Number(values.process),
    processes: Number(values.of),
    pool,
    log,
    minBytes: Number(values['min-bytes']),
    maxWaitMs: Number(values['max-wait-ms']),
    handle: async (changes) => {
      // Retry a failing batch in place (ES or PostgreSQL restarting) rather than skipping it.
      for (let attempt = 1; ; attempt++) {
        try {
          await def.handle(deps, changes);
          processed += changes.length;
          batches++;
          return;
        } catch (err) {
          log(`batch of ${changes.length} failed (attempt ${attempt}), retrying: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
        }
      }
    },
  };
  let feed = await runFeed(feedOptions);
  log('running');
  // A consumer that lost Kafka (a broker restart) sometimes never fetches again. One that has not fetched for
  // STALL_MS while no batch was being handled is replaced: it resumes from the checkpoints, as after a restart.
  let stopping = false;
  let replacing = false;
  setInterval(() => {
    if (stopping || replacing || feed.idleMs() < STALL_MS) return;
    replacing = true;
    log(`no fetch from Kafka for ${Math.round(feed.idleMs() / 1000)} s: replacing the consumer`);
    const old = feed.consumer;
    void Promise.race([old.disconnect(), new Promise((r) => setTimeout(r, 5000))])
      .then(() => runFeed(feedOptions))
      .then((f) => {
        feed = f;
        log('consumer replaced');
      })
      .catch((err) => log(`could not replace the consumer (next try in ${STALL_MS / 1000} s): ${(err as Error).message}`))
      .finally(() => {
        replacing = false;
      });
  }, 5000).unref();
  const shutdown = () => {
    stopping = true;
    log(`stopping after ${processed} changes`);
    void feed.consumer.disconnect().finally(() => pool.end().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err) => {
  process.stderr.write(`pillow failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
