// Faults under a bounded load: a pillow killed with SIGKILL, Kafka restarted, PostgreSQL restarted.
// Afterwards the audit must find every acknowledged form in PostgreSQL, object storage, Elasticsearch and
// the UCR table once the pillows have caught up.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { StackContext } from '../../stack/component.ts';
import { elasticsearchUrl } from '../../stack/components/elasticsearch.ts';
import { blobRoot } from '../../stack/components/hq.ts';
import { kafkaBroker } from '../../stack/components/kafka.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { audit, BlobStore, createPool, waitForDatabase, ensureMobileWorkers } from '../../hq/index.ts';
import { ownedPid } from '../../stack/process.ts';
import { stackUp, stopComponent } from '../../stack/stack.ts';
import { accountsOf, populationFor, postGenerated, type PostResult } from '../support/post-forms.ts';
import { ensureStackUp } from './stack-fixture.ts';

/** The last lines each pillow wrote, for a failure's message. */
function pillowLogTails(): string {
  return ['pillow-xform', 'pillow-case', 'pillow-ucr']
    .map((p) => {
      const f = path.join(ctx.paths.logs, `${p}.log`);
      const lines = existsSync(f) ? readFileSync(f, 'utf8').trimEnd().split('\n').slice(-8) : ['(no log)'];
      return `\n--- ${p}\n${lines.join('\n')}`;
    })
    .join('');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctx: StackContext;

describe('HQ-compatible service under faults', { timeout: 900_000 }, () => {
  let pool: pg.Pool;

  before(async () => {
    ctx = await ensureStackUp();
    pool = createPool(postgresUrl(ctx), 2);
  });
  after(async () => {
    await stackUp(ctx); // leave the stack whole for the next test file
    await pool.end();
  });

  /** Runs a bounded load (at most 240 forms, 90 s) and applies `fault` three seconds in. */
  async function loadWithFault(fault: () => Promise<void>): Promise<PostResult> {
    const domain = `fault-${randomUUID().slice(0, 8)}`;
    const pop = populationFor(domain, 6, Math.floor(Math.random() * 1e9));
    await ensureMobileWorkers(pool, domain, accountsOf(pop));
    const load = postGenerated({
      baseUrl: nginxUrl(ctx),
      domain,
      population: pop,
      count: 240,
      concurrency: 6,
      maxDurationMs: 90_000,
      ratePerSec: 15,
      attempts: 200,
    });
    await sleep(3000);
    await fault();
    const result = await load;
    await stackUp(ctx); // whatever the fault left down comes back
    await waitForDatabase(pool);
    return result;
  }

  async function assertNothingLost(result: PostResult): Promise<void> {
    assert.equal(result.givenUp.length, 0, `forms never acknowledged: ${JSON.stringify(result.givenUp.slice(0, 3))}`);
    assert.ok(result.acks.length >= 200, `only ${result.acks.length} acknowledged`);
    const report = await audit({
      pool,
      blobs: new BlobStore(blobRoot(ctx)),
      esUrl: elasticsearchUrl(ctx),
      kafkaBrokers: [kafkaBroker(ctx)],
      acknowledged: result.acks.map((a) => a.formId),
      waitMs: 180_000,
    });
    assert.equal(report.pillowLag, 0, `pillows caught up (behind: ${report.pillowLagAt}; pillow logs: ${pillowLogTails()})`);
    assert.deepEqual(
      {
        pg: report.missingInPostgres,
        blobs: report.missingBlobs,
        xforms: report.missingInXforms,
        hqcases: report.missingCasesInHqcases,
        ucr: report.missingInUcr,
      },
      { pg: [], blobs: [], xforms: [], hqcases: [], ucr: [] },
    );
  }

  it('kill -9 of a pillow: it resumes from its checkpoint and nothing is lost', async () => {
    const result = await loadWithFault(async () => {
      const pid = ownedPid(ctx.paths.run, 'pillow-xform');
      assert.ok(pid, 'pillow-xform is running');
      process.kill(pid, 'SIGKILL');
      await sleep(4000);
      await stackUp(ctx);
    });
    await assertNothingLost(result);
  });

  it('Kafka restarted: changes wait in the outbox and nothing is lost', async () => {
    const result = await loadWithFault(async () => {
      await stopComponent(ctx, 'kafka');
      await sleep(5000); // forms keep being acknowledged while Kafka is down
      const waiting = (await pool.query('select count(*)::int as n from hq_change_outbox')).rows[0].n;
      assert.ok(waiting > 0, 'changes are held in the outbox while Kafka is down');
      await stackUp(ctx);
    });
    await assertNothingLost(result);
  });

  it('PostgreSQL restarted: forms in flight are retried by the phone, nothing acknowledged is lost', async () => {
    const result = await loadWithFault(async () => {
      await stopComponent(ctx, 'postgres');
      await sleep(3000);
      await stackUp(ctx);
    });
    assert.ok(result.retries > 0, 'some submissions failed while PostgreSQL was down and were retried');
    await assertNothingLost(result);
  });
});
