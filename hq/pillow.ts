// A pillow process: `pillow.ts --pillow xform|case|ucr [--process 0 --of 1]`.
import { parseArgs } from 'node:util';
import { Client as EsClient } from '@elastic/elasticsearch';
import { BlobStore } from './blobs.ts';
import { applySchema, createPool, waitForDatabase } from './db.ts';
import { ensureTopics } from './outbox.ts';
import { lagTotal, pillowLags, runFeed, type FeedOptions } from './pillow-kafka.ts';
import { pillows } from './pillows.ts';

/** A consumer that has not fetched from Kafka for this long while idle, or is behind and not moving, is replaced. */
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
  // A consumer that lost Kafka (a broker restart) may be given up by kafkajs ("Failed to find group coordinator",
  // not restarted), may never fetch again, or may fetch and be handed nothing. One that kafkajs gave up, one that has
  // not fetched for STALL_MS while no batch was being handled, or one that has handled nothing for STALL_MS while
  // its partitions hold changes past its checkpoints, is replaced: it resumes from the checkpoints, as after a
  // restart.
  const owns = (partition: number) => partition % feedOptions.processes === feedOptions.processNum;
  let stopping = false;
  let replacing = false;
  let lagCheckedAt = 0;
  const stalled = async (): Promise<string | undefined> => {
    const crashed = feed.crashed();
    if (crashed) return `kafkajs gave the consumer up (${crashed})`;
    if (feed.idleMs() >= STALL_MS) return `no fetch from Kafka for ${Math.round(feed.idleMs() / 1000)} s`;
    if (feed.sinceProgressMs() < STALL_MS || Date.now() - lagCheckedAt < STALL_MS / 2) return undefined;
    lagCheckedAt = Date.now();
    const behind = lagTotal(
      (await pillowLags(pool, feedOptions.brokers, [def.checkpointId])).filter((l) => def.topics.includes(l.topic) && owns(l.partition)),
    );
    if (behind > 0 && feed.sinceProgressMs() >= STALL_MS) {
      return `${behind} changes waiting and none handled for ${Math.round(feed.sinceProgressMs() / 1000)} s`;
    }
    return undefined;
  };
  setInterval(() => {
    if (stopping || replacing) return;
    replacing = true;
    const old = feed.consumer;
    void stalled()
      .then(async (why) => {
        if (!why) return;
        log(`${why}: replacing the consumer`);
        await Promise.race([old.disconnect(), new Promise((r) => setTimeout(r, 5000))]);
        feed = await runFeed(feedOptions);
        log('consumer replaced');
      })
      .catch((err) => log(`could not check or replace the consumer (next try in 5 s): ${(err as Error).message}`))
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
