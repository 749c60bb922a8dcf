// Mobile workers on a stack of ours (processes or containers): created straight in its PostgreSQL.
import { createPool } from '../hq/index.ts';
import { ensureMobileWorkers } from '../hq/index.ts';
import type { StackContext } from '../stack/component.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import type { CorpusWorker, ProvisionedWorkers } from './target.ts';

export async function provisionOnStack(ctx: StackContext, domain: string, workers: CorpusWorker[]): Promise<ProvisionedWorkers> {
  const pool = createPool(postgresUrl(ctx), 2);
  try {
    await ensureMobileWorkers(pool, domain, workers.map((u) => ({ username: u.login, password: u.password, userId: u.userId, deviceId: u.deviceId })));
  } finally {
    await pool.end();
  }
  return { first: { username: workers[0]!.login, password: workers[0]!.password } };
}
