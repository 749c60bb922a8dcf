// PostgreSQL access for the HQ-compatible service: one pool per process and the idempotent schema.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const schemaFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schema.sql');

/** PostgreSQL's '2026-01-02 03:04:05.678+00' as ISO 8601 '2026-01-02T03:04:05.678+00:00', keeping all digits. */
export function pgTimestampToIso(v: string): string {
  return v.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
}

// timestamptz as ISO strings (no lossy Date round trip), numeric as strings.
pg.types.setTypeParser(1184, pgTimestampToIso);
pg.types.setTypeParser(1700, (v) => v);

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // A restarted PostgreSQL kills idle connections; the pool replaces them, the process must not die.
  pool.on('error', () => undefined);
  return pool;
}

/** Applies schema.sql under an advisory lock so several processes starting together do not race. */
export async function applySchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock(7702001)');
    await client.query(fs.readFileSync(schemaFile, 'utf8'));
  } finally {
    await client.query('select pg_advisory_unlock(7702001)').catch(() => undefined);
    client.release();
  }
}

export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for PostgreSQL to accept queries (used at process start and after a database restart). */
export async function waitForDatabase(pool: pg.Pool, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await pool.query('select 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}
