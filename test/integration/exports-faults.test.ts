// Exports through faults on the real local stack: RabbitMQ restarted while a worker runs an export, and the worker
// running an export killed with SIGKILL. Either way the export completes with PostgreSQL's row count, and nothing is
// left stuck: no message in the queue, none unacknowledged, no status pending or running.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { StackContext } from '../../stack/component.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { rabbitmqManagementUrl } from '../../stack/components/rabbitmq.ts';
import { redisUrl } from '../../stack/components/redis.ts';
import { EXPORT_QUEUE, createPool } from '../../hq/index.ts';
import { ownedPid } from '../../stack/process.ts';
import { stackUp, stopComponent } from '../../stack/stack.ts';
import { insertCases, pollExport, requestExport, testWebUser, waitFor, type PollStatus } from '../support/export-client.ts';
import { ensureStackUp } from './stack-fixture.ts';

const CASES = 150_000;

describe('exports through faults', { timeout: 900_000 }, () => {
  let ctx: StackContext;
  let pool: pg.Pool;
  let base: string;
  const domain = `exf-${randomUUID().slice(0, 8)}`;
  let auth: string;

  before(async () => {
    ctx = await ensureStackUp();
    pool = createPool(postgresUrl(ctx), 2);
    base = nginxUrl(ctx);
    auth = (await testWebUser(pool, domain)).basic;
    await insertCases(pool, domain, CASES);
  });
  after(async () => {
    await stackUp(ctx); // whatever a fault left down comes back for the next test file
    await pool.query('delete from form_processor_commcarecasesql where domain = $1', [domain]);
    await pool.end();
  });

  const runningExport = async () => {
    const id = await requestExport(base, domain, auth, 'case');
    const s = await waitFor(
      'the export to be running',
      async () => {
        const p = await pollExport(base, domain, auth, id);
        return p.state === 'running' && p.progress.current > 0 ? p : undefined;
      },
      60_000,
      50,
    );
    return { id, s };
  };

  const finish = async (id: string): Promise<PollStatus> =>
    waitFor(
      `export ${id} done`,
      async () => {
        const p = await pollExport(base, domain, auth, id);
        assert.equal(p.progress.error, false, p.progress.error_message);
        return p.is_ready ? p : undefined;
      },
      300_000,
      1000,
    );

  const rowsOf = async (p: PollStatus) => {
    const res = await fetch(`${base}${p.download_url}`, { headers: { Authorization: auth } });
    assert.equal(res.status, 200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as unknown as Parameters<typeof wb.xlsx.load>[0]);
    return wb.worksheets[0]!.actualRowCount - 1;
  };

  const queueSettled = () =>
    waitFor(
      'the export queue to be empty',
      async () => {
        const u = new URL(rabbitmqManagementUrl(ctx));
        const res = await fetch(`http://${u.host}/api/queues/%2F/${EXPORT_QUEUE}`, {
          headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
        });
        if (!res.ok) return undefined;
        const q = (await res.json()) as { messages?: number; messages_unacknowledged?: number };
        return q.messages === 0 && q.messages_unacknowledged === 0 ? q : undefined;
      },
      60_000,
      1000,
    );

  it('RabbitMQ restarted mid-export: the export completes with every row, nothing stuck', async () => {
    const { id, s } = await runningExport();
    assert.ok(s.progress.current < CASES, 'restarted mid-export');
    await stopComponent(ctx, 'rabbitmq');
    await stackUp(ctx);
    const done = await finish(id);
    assert.equal(await rowsOf(done), CASES);
    await queueSettled();
    // a new export goes through the restarted broker
    const again = await requestExport(base, domain, auth, 'case');
    assert.equal(await rowsOf(await finish(again)), CASES);
    await queueSettled();
  });

  it('RabbitMQ down: asking for an export is refused with a 503 in one JSON line, not left pending', async () => {
    await stopComponent(ctx, 'rabbitmq');
    try {
      const t0 = Date.now();
      const res = await fetch(`${base}/a/${domain}/data/export/custom/prepare_custom_export/`, {
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: '{"model_type":"case"}',
      });
      assert.equal(res.status, 503);
      assert.equal(await res.text(), '{"error":"the export could not be queued; try again"}');
      assert.ok(Date.now() - t0 < 15_000, 'answered within the publish timeout');
    } finally {
      await stackUp(ctx);
    }
  });

  it('the worker running an export killed: the task is redelivered to another and completes', async () => {
    const { id } = await runningExport();
    const redis = new Redis(redisUrl(ctx));
    try {
      const worker = await redis.hget(`hq:export:${id}`, 'worker');
      assert.ok(worker, 'the status names its worker');
      const pid = ownedPid(ctx.paths.run, worker!);
      assert.ok(pid, `${worker} is running`);
      process.kill(-pid!, 'SIGKILL');
      const done = await finish(id);
      assert.equal(await rowsOf(done), CASES);
      const attempts = Number(await redis.hget(`hq:export:${id}`, 'attempts'));
      assert.ok(attempts >= 2, `redelivered (attempts ${attempts})`);
      assert.notEqual(await redis.hget(`hq:export:${id}`, 'worker'), worker);
    } finally {
      redis.disconnect();
    }
    await queueSettled();
  });
});
