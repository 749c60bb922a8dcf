// PostgreSQL: transactions and rows written per second, cache hit ratio, connections by state, lock waits,
// the longest transaction, replication lag, database and table sizes, and the top statements of
// pg_stat_statements. Everything here is readable by a role that has only pg_monitor.
//
// Rates come from pg_stat_database counters. PostgreSQL (15+) publishes a backend's counters at most once a
// second while it is busy, at exit, and up to 10 s late when it goes idle right after a flush: a 1 s rate is
// jittery, a 5-10 s average is not (the integration test finds tps within a few % of pgbench's own figure).
// tup_inserted/updated/deleted include catalog rows (DDL, autoanalyze writing pg_statistic).
import pg from 'pg';
import { RateTracker, deltaRatio } from './rates.ts';
import { gapSample, sample, type Collector, type Sample } from './types.ts';

export interface PostgresTarget {
  /** postgres://user:pass@host:port/db; the database is the one whose tables and statements are sized. */
  url: string;
  host: string;
}

export interface PostgresOptions {
  timeoutMs?: number;
  /** Database and table sizes at most this often. Default 30 s; 0 = every tick. */
  sizesEveryMs?: number;
  /** pg_stat_statements at most this often (top statements are deltas between two readings). Default 10 s; 0 = every tick. */
  statementsEveryMs?: number;
  /** How many statements to report per reading (by execution time spent in the interval). Default 10. */
  topStatements?: number;
  /** How many tables to size (largest first). Default 20. */
  topTables?: number;
}

/** One round trip per tick: the simple query protocol runs these in one implicit transaction. */
export const tickSql = `
select datname, xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched, tup_returned,
       blks_hit, blks_read, deadlocks, temp_bytes
  from pg_stat_database where datname is not null and datname not like 'template%';
select coalesce(state, 'unknown') as state, count(*)::int as n
  from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() group by 1;
select extract(epoch from max(now() - xact_start))::float8 as longest_xact_s,
       extract(epoch from max(now() - query_start) filter (where state = 'active'))::float8 as longest_query_s,
       count(*) filter (where wait_event_type = 'Lock')::int as lock_waiting_backends
  from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid();
select count(*)::int as waiting_locks from pg_locks where not granted;
-- replica lag: 0 when everything received is replayed, else now - time of the last replayed commit (absent
-- until the replica has replayed one)
select current_setting('max_connections')::int as max_connections, pg_is_in_recovery() as in_recovery,
       case when pg_is_in_recovery() then
         case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
              else extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 end
       end as replica_lag_s,
       case when pg_is_in_recovery() then pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 end
         as replica_replay_backlog_bytes;
select coalesce(application_name, '') as application_name, coalesce(host(client_addr), 'local') as client, state,
       case when pg_is_in_recovery() then null else pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 end as lag_bytes,
       extract(epoch from replay_lag)::float8 as lag_s
  from pg_stat_replication;
`;

export const sizesSql = (topTables: number) => `
select datname, pg_database_size(datname)::float8 as bytes from pg_database where datallowconn and not datistemplate;
select schemaname, relname, pg_total_relation_size(relid)::float8 as bytes, n_live_tup::float8 as live_rows, n_dead_tup::float8 as dead_rows
  from pg_stat_user_tables order by pg_total_relation_size(relid) desc limit ${Math.max(1, Math.floor(topTables))};
`;

const dbCounters = [
  ['tup_inserted', 'rows_inserted_per_s'],
  ['tup_updated', 'rows_updated_per_s'],
  ['tup_deleted', 'rows_deleted_per_s'],
  ['tup_fetched', 'rows_fetched_per_s'],
  ['tup_returned', 'rows_returned_per_s'],
  ['deadlocks', 'deadlocks_per_s'],
  ['temp_bytes', 'temp_bytes_per_s'],
] as const;

type Row = Record<string, unknown>;
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

interface Statement {
  key: string;
  queryid: string;
  database: string;
  query: string;
  calls: number;
  ms: number;
  rows: number;
}

/**
 * A connected client for a collector, with short timeouts; `onLost` runs when the connection breaks later (so the
 * collector reconnects on its next tick). A failed connect leaves nothing open.
 */
export async function openCollectorClient(url: string, timeoutMs: number, onLost: (cl: pg.Client) => void): Promise<pg.Client> {
  const cl = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'capacity-collector',
  });
  cl.on('error', () => onLost(cl));
  try {
    await cl.connect();
  } catch (err) {
    cl.end().catch(() => undefined);
    throw err;
  }
  return cl;
}

export function postgresCollector(target: PostgresTarget, opts: PostgresOptions = {}): Collector {
  const rates = new RateTracker();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const sizesEvery = opts.sizesEveryMs ?? 30_000;
  const stmtEvery = opts.statementsEveryMs ?? 10_000;
  const topN = opts.topStatements ?? 10;
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let lastSizes = -Infinity;
  let lastStmt = -Infinity;
  let prevStatements: { tMs: number; byKey: Map<string, Statement> } | undefined;
  let stmtTimeColumn: string | undefined;

  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const cl = await openCollectorClient(target.url, timeoutMs, (lost) => {
        if (client === lost) client = undefined;
      });
      client = cl;
      return cl;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };
  const drop = () => {
    const cl = client;
    client = undefined;
    cl?.end().catch(() => undefined);
  };

  const c: Collector = {
    name: `postgres@${target.host}`,
    source: 'postgres',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const cl = await connect();
      const t = now.getTime();
      const out: Sample[] = [];
      const add = (metric: string, value: number | undefined, labels?: Record<string, string>) => {
        if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'postgres', target.host, metric, value, labels));
      };
      let results: pg.QueryResult[];
      try {
        results = (await cl.query(tickSql)) as unknown as pg.QueryResult[];
      } catch (err) {
        if (!(err instanceof Error && 'severity' in err)) drop(); // a broken connection, not an SQL error
        throw err;
      }
      const [dbs, states, activity, locks, status, repl] = results.map((r) => r.rows as Row[]);
      for (const r of dbs ?? []) {
        const database = String(r.datname);
        const labels = { database };
        const key = (s: string) => `db.${database}.${s}`;
        const commits = rates.delta(key('commit'), Number(r.xact_commit), t);
        const rollbacks = rates.delta(key('rollback'), Number(r.xact_rollback), t);
        if (commits && rollbacks && commits.dtMs > 0) {
          add('tps', ((commits.delta + rollbacks.delta) * 1000) / commits.dtMs, labels);
          add('xact_commit_per_s', (commits.delta * 1000) / commits.dtMs, labels);
          add('xact_rollback_per_s', (rollbacks.delta * 1000) / commits.dtMs, labels);
        }
        for (const [col, metric] of dbCounters) add(metric, rates.rate(key(col), Number(r[col]), t), labels);
        const hit = rates.delta(key('hit'), Number(r.blks_hit), t);
        const read = rates.delta(key('read'), Number(r.blks_read), t);
        if (hit && read) add('cache_hit_ratio', deltaRatio(hit.delta, hit.delta + read.delta), labels);
      }
      const byState: Record<string, number> = { active: 0, idle: 0, 'idle in transaction': 0, 'idle in transaction (aborted)': 0 };
      for (const r of states ?? []) byState[String(r.state)] = Number(r.n);
      let totalConn = 0;
      for (const [state, n] of Object.entries(byState)) {
        add('connections', n, { state });
        totalConn += n;
      }
      add('connections_total', totalConn);
      const a = activity?.[0] ?? {};
      // now() is this query's own start: a transaction that began after it shows as a hair below zero
      add('longest_xact_s', Math.max(0, num(a.longest_xact_s) ?? 0));
      add('longest_query_s', Math.max(0, num(a.longest_query_s) ?? 0));
      add('lock_waiting_backends', num(a.lock_waiting_backends));
      add('waiting_locks', num(locks?.[0]?.waiting_locks));
      const s = status?.[0] ?? {};
      add('max_connections', num(s.max_connections));
      add('in_recovery', s.in_recovery ? 1 : 0);
      if (s.in_recovery) {
        add('replica_lag_s', num(s.replica_lag_s));
        add('replica_replay_backlog_bytes', num(s.replica_replay_backlog_bytes));
      }
      for (const r of repl ?? []) {
        const labels = { replica: String(r.application_name || r.client), client: String(r.client), state: String(r.state ?? '') };
        add('replication_lag_bytes', num(r.lag_bytes), labels);
        add('replication_lag_s', num(r.lag_s) ?? 0, labels);
      }

      if (t - lastSizes >= sizesEvery) {
        lastSizes = t;
        try {
          const [dbSizes, tables] = ((await cl.query(sizesSql(opts.topTables ?? 20))) as unknown as pg.QueryResult[]).map(
            (r) => r.rows as Row[],
          );
          for (const r of dbSizes ?? []) add('database_bytes', num(r.bytes), { database: String(r.datname) });
          const database = cl.database ?? '';
          for (const r of tables ?? []) {
            const labels = { database, table: `${String(r.schemaname)}.${String(r.relname)}` };
            add('table_bytes', num(r.bytes), labels);
            add('table_live_rows', num(r.live_rows), labels);
            add('table_dead_rows', num(r.dead_rows), labels);
          }
        } catch (err) {
          out.push(gapSample(now, c, err, 'sizes'));
        }
      }

      if (t - lastStmt >= stmtEvery) {
        lastStmt = t;
        try {
          out.push(...(await statementSamples(cl, now)));
        } catch (err) {
          const msg =
            err instanceof Error && /pg_stat_statements/.test(err.message) && /does not exist/.test(err.message)
              ? `pg_stat_statements is not installed in database ${cl.database} (create extension pg_stat_statements)`
              : err;
          out.push(gapSample(now, c, msg, 'statements'));
        }
      }
      return out;
    },
    async close() {
      const cl = client;
      client = undefined;
      await cl?.end().catch(() => undefined);
    },
  };

  async function statementSamples(cl: pg.Client, now: Date): Promise<Sample[]> {
    // PostgreSQL 13 renamed total_time to total_exec_time
    stmtTimeColumn ??= (
      await cl.query(
        `select case when exists (select 1 from pg_attribute where attrelid = 'pg_stat_statements'::regclass and attname = 'total_exec_time')
                then 'total_exec_time' else 'total_time' end as col`,
      )
    ).rows[0].col as string;
    const res = await cl.query(
      `select s.queryid::text as queryid, d.datname, sum(s.calls)::float8 as calls, sum(s.${stmtTimeColumn})::float8 as ms,
              sum(s.rows)::float8 as rows, min(left(regexp_replace(s.query, '\\s+', ' ', 'g'), 200)) as query
         from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where s.queryid is not null
        group by s.queryid, d.datname
        order by ms desc limit 500`,
    );
    const t = now.getTime();
    const byKey = new Map<string, Statement>();
    for (const r of res.rows as Row[]) {
      const st: Statement = {
        key: `${String(r.datname)}/${String(r.queryid)}`,
        queryid: String(r.queryid),
        database: String(r.datname),
        query: String(r.query ?? ''),
        calls: Number(r.calls),
        ms: Number(r.ms),
        rows: Number(r.rows),
      };
      byKey.set(st.key, st);
    }
    const prev = prevStatements;
    prevStatements = { tMs: t, byKey };
    if (!prev || t <= prev.tMs) return [];
    const dtS = (t - prev.tMs) / 1000;
    const deltas: Array<{ st: Statement; calls: number; ms: number; rows: number }> = [];
    for (const st of byKey.values()) {
      const p = prev.byKey.get(st.key);
      // a statement new in this interval counts from zero (it was not in the previous top 500)
      const calls = st.calls - (p?.calls ?? 0);
      const ms = st.ms - (p?.ms ?? 0);
      if (calls <= 0 || ms < 0 || (!p && prev.byKey.size >= 500)) continue;
      deltas.push({ st, calls, ms, rows: st.rows - (p?.rows ?? 0) });
    }
    deltas.sort((x, y) => y.ms - x.ms);
    const out: Sample[] = [];
    for (const d of deltas.slice(0, topN)) {
      const labels = { database: d.st.database, queryid: d.st.queryid, query: d.st.query };
      out.push(sample(now, 'postgres', target.host, 'statement_calls_per_s', d.calls / dtS, labels));
      out.push(sample(now, 'postgres', target.host, 'statement_mean_ms', d.ms / d.calls, labels));
      // milliseconds of execution per second of wall time: 1000 = one backend busy all the time
      out.push(sample(now, 'postgres', target.host, 'statement_ms_per_s', d.ms / dtS, labels));
      out.push(sample(now, 'postgres', target.host, 'statement_rows_per_s', Math.max(0, d.rows) / dtS, labels));
    }
    return out;
  }

  return c;
}
