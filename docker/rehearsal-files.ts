// What a rehearsal leaves for the run: its mobile workers in the rehearsal's PostgreSQL (through the address the
// pg host publishes, as any client of a real install would reach it), their credentials file, and the topology
// file. Both files are written in one step, mode 600 (they hold passwords).
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../core/fs.ts';
import { stackPaths } from '../core/paths.ts';
import { createPool, DEMO_DOMAIN, DEMO_WEB_USER, ensureMobileWorkers, ensureWebUser, type MobileWorkerAccount } from '../hq/index.ts';
import type { Topology } from '../topology/model.ts';
import { rehearsalTopology, type RehearsalPlan } from './rehearsal-plan.ts';

export const REHEARSAL_PG = { user: 'capacity', password: 'capacity', database: 'commcarehq' } as const;

export function rehearsalFiles(home = stackPaths().home): { topology: string; credentials: string } {
  return { topology: path.join(home, 'rehearsal-topology.yaml'), credentials: path.join(home, 'rehearsal-credentials.csv') };
}

/** `count` mobile workers of `domain` with fresh passwords (user ids fixed by name, so a second stack up reuses them). */
export function rehearsalWorkers(count: number, domain = DEMO_DOMAIN): MobileWorkerAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(4, '0');
    return {
      username: `rehearsal${n}@${domain}.commcarehq.org`,
      userId: createHash('md5').update(`rehearsal-user-${domain}-${n}`).digest('hex'),
      password: randomBytes(12).toString('base64url'),
      deviceId: `rehearsal-device-${n}`,
    };
  });
}

/** The credentials file `capacity run --credentials` reads: username,password a line. */
export function credentialsText(workers: readonly MobileWorkerAccount[]): string {
  return `${workers.map((w) => `${w.username},${w.password}`).join('\n')}\n`;
}

/** PostgreSQL's URL as the harness reaches it: the pg host's address and published port. */
export function rehearsalPostgresUrl(plan: RehearsalPlan): string {
  const pg = plan.containers.find((c) => c.services.includes('postgresql'))!;
  const port = pg.ports.find((p) => p.service === 'postgresql')!.hostPort;
  return `postgresql://${REHEARSAL_PG.user}:${REHEARSAL_PG.password}@${pg.address}:${port}/${REHEARSAL_PG.database}`;
}

/** Makes the workers and the demo web user in the rehearsal's database, then writes both files. */
export async function provisionRehearsal(
  topology: Topology,
  plan: RehearsalPlan,
  opts: { workers: number; domain?: string; files?: { topology: string; credentials: string } },
): Promise<{ topology: string; credentials: string; workers: number }> {
  const domain = opts.domain ?? topology.target?.domain ?? DEMO_DOMAIN;
  const files = opts.files ?? rehearsalFiles();
  const workers = rehearsalWorkers(opts.workers, domain);
  const pool = createPool(rehearsalPostgresUrl(plan), 2);
  try {
    await ensureMobileWorkers(pool, domain, workers);
    await ensureWebUser(pool, domain, DEMO_WEB_USER);
  } finally {
    await pool.end();
  }
  writeFileAtomic(files.credentials, credentialsText(workers), 0o600);
  writeFileAtomic(files.topology, rehearsalTopology(topology, plan, REHEARSAL_PG), 0o600);
  return { ...files, workers: workers.length };
}
