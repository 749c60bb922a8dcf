import type { Command } from 'commander';
import { componentChecks, prerequisiteChecks } from '../../stack/doctor.ts';
import { loadStackContext } from '../../stack/stack.ts';
import { formatTable } from '../table.ts';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check prerequisites and the local stack: versions, state, and what to do about anything missing')
    .action(async () => {
      const pre = prerequisiteChecks();
      const comps = await componentChecks(loadStackContext());
      const rows = (checks: typeof pre) =>
        checks.map((c) => [c.ok ? 'ok' : 'FIX', c.name, c.version, c.state, c.ok ? '' : (c.fix ?? '')]);
      console.log('Prerequisites');
      console.log(formatTable(['', 'name', 'version', 'state', 'what to do'], rows(pre)));
      console.log('\nLocal stack');
      console.log(formatTable(['', 'component', 'version', 'state', 'what to do'], rows(comps)));
      const bad = pre.filter((c) => !c.ok).length;
      if (bad) {
        console.log(`\n${bad} prerequisite(s) missing.`);
        process.exitCode = 1;
      }
    });
}
