import type { Command } from 'commander';
import { defaultBaselineFile, saveBaseline } from '../../gates/gate.ts';
import { formatValue } from '../../gates/metrics.ts';
import { repoRoot } from '../../core/paths.ts';

interface SaveFlags {
  out?: string;
  tolerance?: string[];
  allowFailed?: boolean;
}

export function register(program: Command): void {
  const baseline = program.command('baseline').description('baselines for `capacity gate`');
  baseline
    .command('save')
    .description('record the gate figures of a run, with its parameters, as a baseline')
    .argument('<results-dir>', 'a results directory written by `capacity run` (or `capacity merge`)')
    .option('--out <file>', 'where to write it (default gates/baselines/<target>-<scenario>.json)')
    .option(
      '--tolerance <metric=pct[:abs],...>',
      "tolerances stored with the baseline (the gate's --tolerance still wins)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--allow-failed', 'record a run that failed or was interrupted')
    .action((dir: string, f: SaveFlags) => {
      const out = f.out ?? defaultBaselineFile(dir, repoRoot);
      const b = saveBaseline({ resultsDir: dir, out, tolerances: f.tolerance, allowFailed: f.allowFailed });
      console.log(`baseline: ${out} (${b.run.scenario}, from ${b.source.dir})`);
      for (const [id, m] of Object.entries(b.metrics)) console.log(`  ${id.padEnd(40)} ${formatValue(m.value, m.unit)}`);
    });
}
