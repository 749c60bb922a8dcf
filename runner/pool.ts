// The VU pool of one load generator, as k6 plans it (`k6 inspect --execution-requirements`: maxVUs over the
// scenario's executors). Every VU of the pool owns mobile workers (scenarios/lib/ownership.ts), so the runner needs
// the exact figure before it sizes the corpus. k6 inspect cannot apply an execution segment, and k6 stripes an
// uneven share of VUs over segments in its own order: the VUs must split evenly over the segments.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { ownershipProblem, type Ownership } from '../scenarios/lib/ownership.ts';
import type { RunEnv } from '../scenarios/lib/params.ts';
import type { ScenarioName } from '../scenarios/lib/shapes.ts';
import { repoRoot } from '../core/paths.ts';
import { ensureK6Bundle } from './corpus.ts';

export function planPool(binary: string, script: string, env: RunEnv, segments = 1): number {
  const planning: RunEnv = { ...env, ownership: { segments, pool: 0 } };
  const res = spawnSync(binary, ['inspect', '--execution-requirements', '-e', `CAPACITY_RUN=${JSON.stringify(planning)}`, script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
  });
  let maxVUs: unknown;
  try {
    maxVUs = (JSON.parse(res.stdout) as { maxVUs?: unknown }).maxVUs;
  } catch {
    // reported below
  }
  if (res.status !== 0 || typeof maxVUs !== 'number' || !Number.isInteger(maxVUs) || maxVUs < 1) {
    throw new Error(
      `k6 inspect could not plan the VUs of ${script}: ${(res.stderr || res.stdout || String(res.error)).trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  if (maxVUs % segments !== 0) {
    throw new UserError(
      `${maxVUs} VUs do not split evenly over ${segments} load generators: use a --vus that is a multiple of ${segments}`,
    );
  }
  return maxVUs / segments;
}

/**
 * The script k6 runs for `scenario`: the scenario file, which runs on any k6 (a k8s archive's pods run stock k6), or
 * with native (capacity's k6 build, stack/components/k6.ts) scenarios/native-run.ts, which runs the same scenario
 * with its submissions made by k6/x/capacity.
 */
export function scenarioScript(scenario: ScenarioName, opts: { native?: boolean } = {}): string {
  return opts.native ? path.join(repoRoot, 'scenarios', 'native-run.ts') : path.join(repoRoot, 'scenarios', `${scenario}.ts`);
}

/**
 * Who sends which worker in a run (or a k8s archive) of `scenario`: builds the generators' k6 bundle the scenario
 * imports (before k6 first reads it), plans the pool, and refuses fewer workers than VUs with one clear line.
 */
export async function planOwnership(
  binary: string,
  scenario: ScenarioName,
  target: Pick<RunEnv, 'baseUrl' | 'domain' | 'shape'>,
  users: number,
  segments: number,
  opts: { native?: boolean } = {},
): Promise<{ script: string; ownership: Ownership }> {
  const script = scenarioScript(scenario, opts);
  await ensureK6Bundle();
  const pool = planPool(binary, script, { scenario, ...target, corpusDir: '' }, segments);
  const ownership: Ownership = { users, segments, pool };
  const problem = ownershipProblem(ownership);
  if (problem) throw new UserError(problem);
  return { script, ownership };
}
