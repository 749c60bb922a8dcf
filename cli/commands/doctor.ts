import type { Command } from 'commander';
import { BENCH_INSTALL } from '../../stack/bench-tools.ts';
import { benchChecks, componentChecks, prerequisiteChecks } from '../../stack/doctor.ts';
import { loadStackContext } from '../../stack/stack.ts';
import { formatTable } from '../table.ts';
import { requireEngine } from '../../docker/engine.ts';

/** The Docker engine, for `--containers` and `--target containers` only: named, never failing the doctor. */
async function engineLine(): Promise<string> {
  try {
    return `Docker engine ${await requireEngine()}: ok (capacity stack up --containers builds the images it lacks)`;
  } catch (err) {
    return `none: ${(err as Error).message}`;
  }
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check prerequisites and the local stack: versions, state, and what to do about anything missing')
    .action(async () => {
      const pre = prerequisiteChecks();
      const comps = await componentChecks(loadStackContext());
      const bench = benchChecks();
      const rows = (checks: typeof pre) => checks.map((c) => [c.ok ? 'ok' : 'FIX', c.name, c.version, c.state, c.ok ? '' : (c.fix ?? '')]);
      console.log('Prerequisites');
      console.log(formatTable(['', 'name', 'version', 'state', 'what to do'], rows(pre)));
      console.log('\nLocal stack');
      console.log(formatTable(['', 'component', 'version', 'state', 'what to do'], rows(comps)));
      console.log(`\nBenchmarks (optional; ${BENCH_INSTALL} installs them)`);
      console.log(formatTable(['', 'tool', 'version', 'state', 'what to do'], rows(bench)));
      const bad = pre.filter((c) => !c.ok).length;
      if (bad) {
        console.log(`\n${bad} prerequisite(s) missing.`);
        process.exitCode = 1;
      }
      // the benchmarks' tools are optional: named, but they do not fail the doctor
      console.log(`\nContainers (optional; only --containers and --target containers need them)\n${await engineLine()}`);
      const benchMissing = bench.filter((c) => !c.ok).map((c) => c.name);
      if (benchMissing.length) console.log(`\nfor the benchmarks: ${benchMissing.join(', ')} missing; install with ${BENCH_INSTALL}`);
    });
}
