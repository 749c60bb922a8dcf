import fs from 'node:fs';
import type { Command } from 'commander';
import { buildProfile, calibrateRuns } from '../../reports/profile.ts';

interface Flags {
  out: string;
  topology?: string;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description(
      'per-unit costs from one or more runs into a calibration profile (median, spread, where measured) for report and plan --calibration',
    )
    .argument('<results...>', 'results directories of runs (capacity run)')
    .requiredOption('--out <file>', 'the profile to write (JSON)')
    .option('--topology <file>', 'topology for runs against VMs (default: the one each run was given)')
    .addHelpText(
      'after',
      `
A run against the local stack (or its containers) measures PostgreSQL, Elasticsearch, Kafka, Redis and nginx
as they are, but its web workers and pillows are stand-ins for HQ's Django and pillowtop: their CPU costs are
marked "local stand-in" and CPU verdicts drawn from them alone are advisory. For a real profile, run against a
staging HQ (capacity run --target https://staging.example.org ...) and calibrate that run.`,
    )
    .action(async (dirs: string[], f: Flags) => {
      const profile = buildProfile(await calibrateRuns(dirs, f.topology));
      fs.writeFileSync(f.out, `${JSON.stringify(profile, null, 2)}\n`);
      for (const r of profile.runs) console.log(`run ${r.dir}: ${r.source ?? 'source unknown'}, ${r.formsAcknowledged} forms`);
      for (const c of profile.costs) {
        const spread = c.values.length > 1 ? `  (${c.values.length} runs, spread ${(c.spread * 100).toFixed(0)} %)` : '';
        console.log(
          `  ${c.key.padEnd(28)} ${Number(c.value.toPrecision(4))} ${c.unit}  [${c.sources.join(', ') || 'source unknown'}]${spread}`,
        );
      }
      if (profile.notMeasured.length) console.log(`not measured: ${profile.notMeasured.map((n) => n.key).join(', ')}`);
      console.log(`profile: ${f.out}`);
    });
}
