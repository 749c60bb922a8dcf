// PostgreSQL 15 from Debian, in its own data directory under the stack home (never the system cluster),
// with pg_stat_statements preloaded. Runs as the service user because postgres refuses root.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { UserError } from '../../core/errors.ts';
import type { Component, StackContext } from '../component.ts';
import { versions } from '../config.ts';
import { run, startDetached } from '../process.ts';
import { asServiceUser, chownTree } from '../service-user.ts';
import { maskUrlPasswords } from '../../core/redact.ts';

export const pgBinDir = `/usr/lib/postgresql/${versions.postgres}/bin`;

const dataDir = (ctx: StackContext) => path.join(ctx.paths.data, 'postgres');
const socketDir = (ctx: StackContext) => path.join(ctx.paths.run, 'postgres-socket');

export function postgresUrl(ctx: Pick<StackContext, 'config'>, database = ctx.config.postgres.database): string {
  const { user, password } = ctx.config.postgres;
  return `postgres://${user}:${password}@${ctx.config.host}:${ctx.config.ports.postgres}/${database}`;
}

async function withClient<T>(ctx: StackContext, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl(ctx, database), connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const postgres: Component = {
  name: 'postgres',
  version: versions.postgres,
  // SIGTERM is PostgreSQL's 'smart' shutdown, which waits for every client to leave; SIGINT is 'fast'.
  stopSignal: 'SIGINT',
  ports: (ctx) => [ctx.config.ports.postgres],
  isInstalled: (ctx) => fs.existsSync(path.join(dataDir(ctx), 'PG_VERSION')),
  async install(ctx) {
    if (!fs.existsSync(path.join(pgBinDir, 'initdb'))) {
      throw new UserError(`PostgreSQL ${versions.postgres} is not installed: apt-get install postgresql-15 postgresql-contrib`);
    }
    if (this.isInstalled(ctx)) return;
    ctx.progress.step('postgres: initialising a data directory (initdb)');
    const dir = dataDir(ctx);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.mkdirSync(dir, { mode: 0o700 });
    const pwfile = path.join(ctx.paths.run, 'postgres.pw');
    fs.mkdirSync(ctx.paths.run, { recursive: true });
    fs.writeFileSync(pwfile, `${ctx.config.postgres.password}\n`, { mode: 0o600 });
    chownTree(dir, ctx.user);
    if (ctx.user.switchUser) fs.chownSync(pwfile, ctx.user.uid, ctx.user.gid);
    try {
      await run(
        path.join(pgBinDir, 'initdb'),
        [
          '-D',
          dir,
          '-U',
          ctx.config.postgres.user,
          `--pwfile=${pwfile}`,
          '--auth-host=scram-sha-256',
          '--auth-local=peer',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
        ],
        { what: 'initdb', ...asServiceUser(ctx.user), cwd: '/' },
      );
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true }); // never leave a half-initialised cluster behind
      throw err;
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  },
  async start(ctx) {
    const sock = socketDir(ctx);
    fs.mkdirSync(sock, { recursive: true });
    chownTree(sock, ctx.user);
    // Settings on the command line so port changes need no config rewrite; fsync stays on (durability is measured).
    startDetached({
      name: 'postgres',
      command: path.join(pgBinDir, 'postgres'),
      args: [
        '-D',
        dataDir(ctx),
        '-p',
        String(ctx.config.ports.postgres),
        '-c',
        `listen_addresses=${ctx.config.host}`,
        '-c',
        `unix_socket_directories=${sock}`,
        '-c',
        'shared_preload_libraries=pg_stat_statements',
        '-c',
        'pg_stat_statements.track=all',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=256MB',
        '-c',
        'track_io_timing=on',
        '-c',
        'logging_collector=off',
      ],
      runDir: ctx.paths.run,
      logFile: this.logFile(ctx),
      marker: dataDir(ctx),
      cwd: '/',
      ...asServiceUser(ctx.user),
    });
  },
  async healthy(ctx) {
    try {
      return await withClient(ctx, 'postgres', async (c) => (await c.query('select 1 as ok')).rows[0]?.ok === 1);
    } catch {
      return false;
    }
  },
  async afterStart(ctx) {
    const db = ctx.config.postgres.database;
    await withClient(ctx, 'postgres', async (c) => {
      const exists = await c.query('select 1 from pg_database where datname = $1', [db]);
      if (exists.rowCount === 0) await c.query(`create database "${db}"`);
    });
    await withClient(ctx, db, async (c) => {
      await c.query('create extension if not exists pg_stat_statements');
    });
  },
  endpoint: (ctx) => maskUrlPasswords(postgresUrl(ctx)),
  logFile: (ctx) => path.join(ctx.paths.logs, 'postgres.log'),
};
