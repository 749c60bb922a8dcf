// Replication lag against a real streaming replica of the local PostgreSQL, made for the test with
// pg_basebackup and started on a port of its own: replay paused while the primary writes a known amount of
// WAL, then resumed.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresCollector } from '../../collectors/postgres.ts';
import type { Sample } from '../../collectors/types.ts';
import type { StackContext } from '../../stack/component.ts';
import { pgBinDir, postgresUrl } from '../../stack/components/postgres.ts';
import { asServiceUser, chownTree } from '../../stack/service-user.ts';
import { ensureStackUp } from './stack-fixture.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const find = (xs: Sample[], metric: string, labels: Record<string, string> = {}) =>
  xs.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('collectors: PostgreSQL replication lag against a real replica', { timeout: 180_000 }, () => {
  let ctx: StackContext;
  let dir: string;
  let replica: ChildProcess | undefined;
  let replicaUrl: string;
  let primary: pg.Client;
  const name = 'capacity_it_replica';
  const table = `it_repl_${randomUUID().slice(0, 8)}`;

  before(async () => {
    ctx = await ensureStackUp();
    const { user, password } = ctx.config.postgres;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-replica-'));
    fs.chmodSync(dir, 0o700);
    chownTree(dir, ctx.user);
    const base = spawnSync(
      path.join(pgBinDir, 'pg_basebackup'),
      [
        '-h',
        ctx.config.host,
        '-p',
        String(ctx.config.ports.postgres),
        '-U',
        user,
        '-D',
        path.join(dir, 'data'),
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
        '--no-sync',
      ],
      { env: { ...process.env, PGPASSWORD: password }, encoding: 'utf8', timeout: 120_000, cwd: '/', ...asServiceUser(ctx.user) },
    );
    assert.equal(base.status, 0, `pg_basebackup: ${base.stderr}`);
    const port = await freePort();
    // a standby needs these at least as high as on its primary
    const settings = await (async () => {
      const c = new pg.Client({ connectionString: postgresUrl(ctx, 'postgres') });
      await c.connect();
      const r = await c.query(
        `select name, setting from pg_settings where name in ('max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction')`,
      );
      await c.end();
      return r.rows.flatMap((x: { name: string; setting: string }) => ['-c', `${x.name}=${x.setting}`]);
    })();
    replica = spawn(
      path.join(pgBinDir, 'postgres'),
      [
        '-D',
        path.join(dir, 'data'),
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `cluster_name=${name}`,
        '-c',
        'hot_standby=on',
        '-c',
        'shared_preload_libraries=',
        '-c',
        'shared_buffers=16MB',
        ...settings,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: '/', ...asServiceUser(ctx.user) },
    );
    let log = '';
    replica.stderr!.on('data', (d) => (log += d));
    replicaUrl = `postgres://${user}:${password}@${ctx.config.host}:${port}/postgres`;
    for (let i = 0; ; i++) {
      const c = new pg.Client({ connectionString: replicaUrl });
      try {
        await c.connect();
        await c.end();
        break;
      } catch {
        await c.end().catch(() => undefined);
        if (i > 100 || replica.exitCode !== null) throw new Error(`replica did not start: ${log.slice(-1000)}`);
        await sleep(200);
      }
    }
    primary = new pg.Client({ connectionString: postgresUrl(ctx, 'postgres') });
    await primary.connect();
    // the primary sees the replica streaming
    // (a loaded machine can take a while: wait up to a minute, then say why)
    for (let i = 0; ; i++) {
      // streaming, and the standby has reported a replay position (NULL until its first feedback)
      const r = await primary.query(
        `select state, replay_lsn is not null as replayed from pg_stat_replication where application_name = $1`,
        [name],
      );
      if (r.rows[0]?.state === 'streaming' && r.rows[0]?.replayed) break;
      if (i > 300) throw new Error(`the replica is not streaming after 60 s (state ${r.rows[0]?.state ?? 'absent'}): ${log.slice(-1000)}`);
      await sleep(200);
    }
  });

  after(async () => {
    await primary?.query(`drop table if exists ${table}`).catch(() => undefined);
    await primary?.end();
    if (replica && replica.exitCode === null) {
      replica.kill('SIGINT'); // fast shutdown
      await new Promise((r) => replica!.once('exit', r));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('paused replay shows the WAL written since as lag on both sides; resumed, it drains to zero', async () => {
    const onPrimary = postgresCollector(
      { url: postgresUrl(ctx, 'postgres'), host: 'pg-primary' },
      { statementsEveryMs: 1e9, sizesEveryMs: 1e9 },
    );
    const onReplica = postgresCollector({ url: replicaUrl, host: 'pg-replica' }, { statementsEveryMs: 1e9, sizesEveryMs: 1e9 });
    const standby = new pg.Client({ connectionString: replicaUrl });
    await standby.connect();
    try {
      const p0 = await onPrimary.sample(new Date());
      assert.ok(find(p0, 'replication_lag_bytes', { replica: name }), 'the primary reports its replica');
      const r0 = await onReplica.sample(new Date());
      assert.equal(find(r0, 'in_recovery')?.value, 1);
      // (this replica does not load pg_stat_statements: that part alone is a gap, with the reason)
      assert.deepEqual(
        r0.filter((s) => s.gap && s.labels.part !== 'statements'),
        [],
      );
      assert.match(r0.find((s) => s.gap)?.error ?? '', /pg_stat_statements/);

      // replica_lag_s is timed from the last replayed commit: make sure there is one
      await primary.query('select txid_current()');
      for (let i = 0; i < 50; i++) {
        if ((await standby.query('select pg_last_xact_replay_timestamp() is not null as ok')).rows[0].ok) break;
        await sleep(100);
      }
      await standby.query('select pg_wal_replay_pause()');
      await sleep(300);
      // where replay stopped (other sessions keep writing WAL on the shared primary, so the lag is measured
      // against this position, not only against what this test writes)
      const paused = (await standby.query('select pg_last_wal_replay_lsn()::text as l')).rows[0].l as string;
      const lsn0 = (await primary.query('select pg_current_wal_lsn()::text as l')).rows[0].l as string;
      await primary.query(`create table ${table} as select g as id, repeat('x', 200) as pad from generate_series(1, 20000) g`);
      const written = Number((await primary.query(`select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::float8 as d`, [lsn0])).rows[0].d);
      assert.ok(written > 2e6, `WAL written ${written}`);
      await sleep(1500); // streamed to the replica (received, not replayed)
      const sincePaused = async () =>
        Number((await primary.query(`select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::float8 as d`, [paused])).rows[0].d);
      const lo = await sincePaused();
      const p1 = await onPrimary.sample(new Date());
      const r1 = await onReplica.sample(new Date());
      const hi = await sincePaused();
      const lagBytes = find(p1, 'replication_lag_bytes', { replica: name })!.value;
      assert.ok(lagBytes >= written, `primary: replay lag ${lagBytes} B < WAL this test wrote ${written} B`);
      assert.ok(lagBytes >= lo && lagBytes <= hi, `primary: replay lag ${lagBytes} B, WAL since replay paused ${lo}-${hi} B`);
      const backlog = find(r1, 'replica_replay_backlog_bytes')!.value;
      assert.ok(
        backlog >= written && backlog <= hi,
        `replica: received but not replayed ${backlog} B, this test wrote ${written} B, primary ahead by ${hi} B`,
      );
      assert.ok(find(r1, 'replica_lag_s')!.value > 0);

      await standby.query('select pg_wal_replay_resume()');
      let p2: Sample[] = [];
      let r2: Sample[] = [];
      for (let i = 0; i < 50; i++) {
        await sleep(200);
        p2 = await onPrimary.sample(new Date());
        r2 = await onReplica.sample(new Date());
        if (find(p2, 'replication_lag_bytes', { replica: name })!.value === 0 && find(r2, 'replica_lag_s')!.value === 0) break;
      }
      assert.equal(find(r2, 'replica_replay_backlog_bytes')?.value, 0);
      assert.equal(find(r2, 'replica_lag_s')?.value, 0, 'caught up: no lag, however long ago the last change');
      assert.ok(find(p2, 'replication_lag_bytes', { replica: name })!.value < 1e5);
    } finally {
      await standby.end();
      await onPrimary.close?.();
      await onReplica.close?.();
    }
  });
});
