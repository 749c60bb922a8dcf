// Several statements sent to PostgreSQL in one round trip (extended protocol, one Sync), e.g. `begin` with the
// first query of a transaction, or the last query with `commit`. node-postgres sends one statement per round trip;
// each round trip costs both this process and a PostgreSQL backend a wake-up and a few system calls, which at a
// few hundred forms a second on two cores is a real share of the CPU. Statements run in order; the first error
// skips the rest (as PostgreSQL does up to the Sync) and rejects.
import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);
const Result = require('pg/lib/result.js') as new (rowMode?: string, types?: unknown) => PgResult;
const { prepareValue } = require('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

interface PgResult extends pg.QueryResult {
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
  addCommandComplete(msg: unknown): void;
}

interface Connection {
  parsedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
  parse(q: { text: string; name: string; types: unknown[] }): void;
  bind(q: { portal: string; statement: string; values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(q: { type: 'P'; name: string }): void;
  execute(q: { portal: string }): void;
  close(q: { type: 'S'; name: string }): void;
  sync(): void;
}

export interface Step {
  /** A name makes it a prepared statement, parsed once per connection. */
  name?: string;
  text: string;
  values?: unknown[];
}

class Pipeline {
  private results: PgResult[] = [];
  private current: PgResult;
  private failed: Error | undefined;
  readonly promise: Promise<pg.QueryResult[]>;
  private resolve!: (r: pg.QueryResult[]) => void;
  private reject!: (e: Error) => void;
  private connection: Connection | undefined;

  constructor(private steps: Step[]) {
    this.current = new Result();
    this.promise = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }

  submit(connection: Connection): null {
    this.connection = connection;
    connection.stream.cork?.();
    try {
      for (const s of this.steps) {
        const name = s.name ?? '';
        if (!name || connection.parsedStatements[name] !== s.text) {
          // Closing a statement that does not exist is not an error: this makes a Parse safe after a failed pipeline.
          if (name) connection.close({ type: 'S', name });
          connection.parse({ text: s.text, name, types: [] });
        }
        connection.bind({ portal: '', statement: name, values: s.values ?? [], valueMapper: prepareValue });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '' });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this.current.addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    if (this.failed) return;
    try {
      this.current.addRow(this.current.parseRow(msg.fields));
    } catch (err) {
      this.failed = err as Error;
    }
  }

  handleCommandComplete(msg: unknown): void {
    this.current.addCommandComplete(msg);
    this.results.push(this.current);
    this.current = new Result();
  }

  handleEmptyQuery(): void {
    this.results.push(this.current);
    this.current = new Result();
  }

  handleError(err: Error): void {
    // Which statements got parsed is unknown now: parse them again (after a Close) next time.
    for (const s of this.steps) if (s.name && this.connection) delete this.connection.parsedStatements[s.name];
    this.reject(this.failed ?? err);
  }

  handleReadyForQuery(): void {
    if (this.failed) return this.handleError(this.failed);
    for (const s of this.steps) if (s.name && this.connection) this.connection.parsedStatements[s.name] = s.text;
    this.resolve(this.results);
  }

  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/** Runs the steps in one round trip; resolves with one result per step. */
export function pipeline(client: pg.ClientBase, steps: Step[]): Promise<pg.QueryResult[]> {
  const p = new Pipeline(steps);
  // A submittable (an object with submit()), as pg-cursor uses: the client hands it the backend's messages.
  void client.query(p as unknown as pg.QueryConfig);
  return p.promise;
}
