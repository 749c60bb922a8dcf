// A benchmark's tools (wrk, Locust): installed through the bootstrap when missing, or named in one line.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';
import { BENCH_INSTALL, benchTools, type BenchToolName } from '../stack/bench-tools.ts';

const missingOf = (needs: BenchToolName[]) => benchTools().filter((t) => needs.includes(t.name) && !t.ok);

/**
 * Makes sure the tools a benchmark needs are here: runs `scripts/bootstrap.sh --bench` (its progress lines, its log)
 * when one is missing, and exits with one line when they are still missing after it.
 */
export function ensureBenchTools(needs: BenchToolName[]): void {
  if (missingOf(needs).length === 0) return;
  const boot = spawnSync(path.join(repoRoot, 'scripts', 'bootstrap.sh'), ['--bench'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const still = missingOf(needs);
  if (boot.status === 0 && !boot.error && still.length === 0) return;
  const what = still.map((t) => (t.state === 'other version' ? `${t.name} ${t.wanted} (found ${t.version})` : t.name)).join(', ');
  console.error(`bench: ${what || needs.join(', ')} missing; install with ${BENCH_INSTALL} (as root)`);
  process.exit(2);
}
