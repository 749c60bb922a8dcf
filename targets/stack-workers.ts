// Mobile workers (and the demo web user) on a stack of ours (processes or containers): created straight in its PostgreSQL.
import { createPool } from '../hq/index.ts';
import { DEMO_WEB_USER, ensureMobileWorkers, ensureWebUser } from '../hq/index.ts';
import type { StackContext } from '../stack/component.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import type { CorpusWorker, ProvisionedWorkers } from './target.ts';

export async function provisionOnStack(ctx: StackContext, domain: string, workers: CorpusWorker[]): Promise<ProvisionedWorkers> {
  const pool = createPool(postgresUrl(ctx), 2);
  try {
    await ensureMobileWorkers(pool, domain, workers.map((u) => ({ username: u.login, password: u.password, userId: u.userId, deviceId: u.deviceId })));
    // the web user that asks for exports and calls the data API, in the run's domain
    await ensureWebUser(pool, domain, DEMO_WEB_USER);
  } finally {
    await pool.end();
  }
  return { first: { username: workers[0]!.login, password: workers[0]!.password } };
}
