// PostgreSQL collector against the real local server: transactions/s against pgbench's own figure, rows
// written, lock waits and the longest transaction against what the test did, and everything readable by a
// role that has only pg_monitor.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresCollector } from '../../collectors/postgres.ts';
import { startSampler } from '../../collectors/sampler.ts';
import type { Sample } from '../../collectors/types.ts';
import type { StackContext } from '../../stack/component.ts';
import { pgBinDir, postgresUrl } from '../../stack/components/postgres.ts';
import { ensureStackUp } from './stack-fixture.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const find = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.filter((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

function runPgbench(ctx: StackContext, db: string, args: string[]): Promise<{ out: string; start: number; end: number }> {
  const { user, password } = ctx.config.postgres;
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const p = spawn(
      path.join(pgBinDir, 'pgbench'),
      ['-h', ctx.config.host, '-p', String(ctx.config.ports.postgres), '-U', user, ...args, db],
      {
        env: { ...process.env, PGPASSWORD: password },
      },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve({ out, start, end: Date.now() }) : reject(new Error(`pgbench exited ${code}: ${out.slice(-500)}`)),
    );
  });
}

describe('collectors: PostgreSQL', { timeout: 180_000 }, () => {
  let ctx: StackContext;
  let admin: pg.Client;
  const scratch = `capacity_pgbench_${randomUUID().slice(0, 8)}`;
  // a database of its own for exact row counts (pg_stat_database counts catalog writes too, e.g. autoanalyze)
  const quiet = `capacity_rows_${randomUUID().slice(0, 8)}`;
  const role = `capacity_mon_${randomUUID().slice(0, 8)}`;

  before(async () => {
    ctx = await ensureStackUp();
    admin = new pg.Client({ connectionString: postgresUrl(ctx, 'postgres') });
    await admin.connect();
    await admin.query(`create database ${scratch}`);
    await admin.query(`create database ${quiet}`);
    await admin.query(`create role ${role} login password 'monitor' in role pg_monitor`);
  });

  after(async () => {
    await admin.query(`drop database if exists ${scratch} with (force)`).catch(() => undefined);
    await admin.query(`drop database if exists ${quiet} with (force)`).catch(() => undefined);
    await admin.query(`drop role if exists ${role}`).catch(() => undefined);
    await admin.end();
  });

  it("transactions/s agrees with pgbench's own tps within 10 %", async () => {
    await runPgbench(ctx, scratch, ['-i', '-s', '1', '-q']);
    const samples: Sample[] = [];
    const c = postgresCollector({ url: postgresUrl(ctx, scratch), host: 'localhost' }, { statementsEveryMs: 60_000, sizesEveryMs: 60_000 });
    const run = startSampler([c], { intervalMs: 1000, onTick: (t) => samples.push(...t.samples) });
    await sleep(1500);
    const bench = await runPgbench(ctx, scratch, ['-n', '-c', '4', '-j', '2', '-T', '12', '-P', '1']);
    await sleep(2000); // backends publish their last counters as they exit
    await run.stop();
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(bench.out)?.[1]);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(bench.out)?.[1]);
    const progress = [...bench.out.matchAll(/progress: ([\d.]+) s, ([\d.]+) tps/g)].map((m) => ({ s: Number(m[1]), tps: Number(m[2]) }));
    assert.ok(tps > 0 && processed > 0 && progress.length >= 10, bench.out);
    const ours = find(samples, 'tps', { database: scratch }).map((s) => ({ end: Date.parse(s.ts), tps: s.value }));
    const intervalMs = 1000;

    // 1. over the whole run: the transactions the collector counted (rate x interval, for every interval that
    //    overlaps the run) over pgbench's own run time, against pgbench's tps
    const runSeconds = processed / tps;
    const counted = ours
      .filter((o) => o.end > bench.start && o.end - intervalMs < bench.end + 2000)
      .reduce((a, o) => a + (o.tps * intervalMs) / 1000, 0);
    const whole = counted / runSeconds;
    // 2. second by second: the collector's intervals wholly inside the run against pgbench's own per-second
    //    progress figures for the same stretch (seconds 2 to T-1 of the run)
    const inside = ours.filter((o) => o.end - intervalMs >= bench.start + 1000 && o.end <= bench.end - 500);
    const mean = inside.reduce((a, o) => a + o.tps, 0) / inside.length;
    const interior = progress.filter((p) => p.s >= 2 && p.s <= 11);
    const pgMean = interior.reduce((a, p) => a + p.tps, 0) / interior.length;
    process.stderr.write(
      `pgbench tps ${tps.toFixed(1)}; collector over the run ${whole.toFixed(1)} (${((100 * Math.abs(whole - tps)) / tps).toFixed(1)} %); ` +
        `per second: collector ${mean.toFixed(1)} over ${inside.length} s vs pgbench progress ${pgMean.toFixed(1)} (${((100 * Math.abs(mean - pgMean)) / pgMean).toFixed(1)} %)\n`,
    );
    assert.ok(Math.abs(whole - tps) / tps < 0.1, `collector ${whole.toFixed(1)} tps over the run vs pgbench ${tps.toFixed(1)}`);
    assert.ok(inside.length >= 8, `intervals inside the run: ${inside.length}`);
    assert.ok(Math.abs(mean - pgMean) / pgMean < 0.1, `collector ${mean.toFixed(1)} tps vs pgbench progress ${pgMean.toFixed(1)}`);
  });

  it('a role with only pg_monitor reads everything, with statement texts', async () => {
    const url = `postgres://${role}:monitor@${ctx.config.host}:${ctx.config.ports.postgres}/commcarehq`;
    const c = postgresCollector({ url, host: 'localhost' }, { statementsEveryMs: 0, sizesEveryMs: 0 });
    const idle = new pg.Client({ connectionString: postgresUrl(ctx, scratch) });
    await idle.connect();
    try {
      await c.sample(new Date());
      // a backend publishes its counters when it exits (or within a second while busy, up to 10 s when idle)
      const work = new pg.Client({ connectionString: postgresUrl(ctx, scratch) });
      await work.connect();
      await work.query(`select count(*) from pgbench_accounts where aid % 7 = 3`);
      await work.end();
      await sleep(500);
      const s = await c.sample(new Date());
      assert.deepEqual(
        s.filter((x) => x.gap),
        [],
        'no part of the reading failed',
      );
      for (const m of [
        'tps',
        'rows_inserted_per_s',
        'cache_hit_ratio',
        'connections',
        'waiting_locks',
        'longest_xact_s',
        'max_connections',
        'database_bytes',
        'table_bytes',
        'statement_calls_per_s',
      ]) {
        assert.ok(find(s, m).length > 0, `${m} readable with pg_monitor`);
      }
      const hit = find(s, 'cache_hit_ratio', { database: scratch })[0]!.value;
      assert.ok(hit > 0.5 && hit <= 1, `cache hit ratio ${hit}`);
      const st = find(s, 'statement_mean_ms').find((x) => x.labels.query?.includes('pgbench_accounts where aid % $1 = $2'));
      assert.ok(
        st,
        `the test's statement is among the top: ${find(s, 'statement_mean_ms')
          .map((x) => x.labels.query)
          .join(' | ')}`,
      );
      assert.equal(st.labels.database, scratch);
      assert.ok(!find(s, 'statement_calls_per_s').some((x) => x.labels.query?.includes('insufficient privilege')));
      assert.ok(find(s, 'connections', { state: 'idle' })[0]!.value >= 1, 'the idle connection is counted');
      const dbBytes = find(s, 'database_bytes', { database: scratch })[0]!.value;
      const truth = await admin.query(`select pg_database_size($1)::float8 as b`, [scratch]);
      assert.ok(Math.abs(dbBytes - truth.rows[0].b) / truth.rows[0].b < 0.05, `database size ${dbBytes} vs ${truth.rows[0].b}`);
    } finally {
      await idle.end();
      await c.close?.();
    }
  });

  it('rows written, lock waits and the longest transaction match what happened', async () => {
    const c = postgresCollector({ url: postgresUrl(ctx, quiet), host: 'localhost' }, { statementsEveryMs: 60_000, sizesEveryMs: 60_000 });
    const a = new pg.Client({ connectionString: postgresUrl(ctx, quiet) });
    const b = new pg.Client({ connectionString: postgresUrl(ctx, quiet) });
    await a.connect();
    await b.connect();
    try {
      // each step on a connection of its own that then exits: a backend publishes its counters when it exits
      // (while it lives: at most once a second when busy, up to 10 s late when idle)
      const once = async (sql: string) => {
        const w = new pg.Client({ connectionString: postgresUrl(ctx, quiet) });
        await w.connect();
        await w.query(sql);
        await w.end();
      };
      await once('create table it_rows (id int primary key, v text) with (autovacuum_enabled = false)');
      await sleep(500);
      const t0 = new Date();
      await c.sample(t0);
      await once(`insert into it_rows select g, 'x' from generate_series(1, 500) g;
                  update it_rows set v = 'y' where id <= 120;
                  delete from it_rows where id > 450`);
      await sleep(500);
      const t1 = new Date();
      const s1 = await c.sample(t1);
      const dt = (t1.getTime() - t0.getTime()) / 1000;
      const rows = (m: string) => Math.round(find(s1, m, { database: quiet })[0]!.value * dt);
      assert.equal(rows('rows_inserted_per_s'), 500);
      assert.equal(rows('rows_updated_per_s'), 120);
      assert.equal(rows('rows_deleted_per_s'), 50);

      await a.query('begin');
      await a.query('lock table it_rows in access exclusive mode');
      const blocked = b.query('select count(*) from it_rows').catch(() => undefined);
      await sleep(2000);
      const s2 = await c.sample(new Date());
      await a.query('commit');
      await blocked;
      assert.ok(find(s2, 'waiting_locks')[0]!.value >= 1);
      assert.ok(find(s2, 'lock_waiting_backends')[0]!.value >= 1);
      assert.ok(find(s2, 'longest_xact_s')[0]!.value >= 2, `longest transaction ${find(s2, 'longest_xact_s')[0]!.value}`);
      assert.ok(find(s2, 'connections', { state: 'idle in transaction' })[0]!.value >= 1);
      assert.equal(find(s2, 'in_recovery')[0]!.value, 0);
    } finally {
      await a.end();
      await b.end();
      await c.close?.();
    }
  });
});
