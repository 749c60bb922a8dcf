// The VU pool of one load generator, as k6 plans it (`k6 inspect --execution-requirements`: maxVUs over the
// scenario's executors). Every VU of the pool owns mobile workers (scenarios/lib/ownership.ts), so the runner needs
// the exact figure before it sizes the corpus. k6 inspect cannot apply an execution segment, and k6 stripes an
// uneven share of VUs over segments in its own order: the VUs must split evenly over the segments.
import { spawnSync } from 'node:child_process';
import { UserError } from '../cli/errors.ts';
import type { RunEnv } from '../scenarios/lib/params.ts';

export function planPool(binary: string, script: string, env: RunEnv, segments = 1): number {
  const planning: RunEnv = { ...env, ownership: { segments, pool: 0 } };
  const res = spawnSync(binary, ['inspect', '--execution-requirements', '-e', `CAPACITY_RUN=${JSON.stringify(planning)}`, script],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
  let maxVUs: unknown;
  try {
    maxVUs = (JSON.parse(res.stdout) as { maxVUs?: unknown }).maxVUs;
  } catch {
    // reported below
  }
  if (res.status !== 0 || typeof maxVUs !== 'number' || !Number.isInteger(maxVUs) || maxVUs < 1) {
    throw new Error(`k6 inspect could not plan the VUs of ${script}: ${(res.stderr || res.stdout || String(res.error)).trim().split('\n').slice(-3).join(' ')}`);
  }
  if (maxVUs % segments !== 0) {
    throw new UserError(`${maxVUs} VUs do not split evenly over ${segments} load generators: use a --vus that is a multiple of ${segments}`);
  }
  return maxVUs / segments;
}
