import type { Command } from 'commander';
import { mergeResults } from '../../runner/merge.ts';
import { formatSummary } from '../../runner/summary.ts';

interface MergeFlags {
  out: string;
  allowPartial?: boolean;
}

export function register(program: Command): void {
  program
    .command('merge')
    .description('join the results directories of the segments of one scenario (`capacity run --segment i/N`) into one')
    .argument('<dirs...>', 'results directories, one per segment')
    .requiredOption('--out <dir>', 'the merged results directory (new or empty)')
    .option('--allow-partial', 'merge even when segments of the sequence are missing')
    .addHelpText(
      'after',
      `
Counts are summed; per-second and whole-run percentiles are recomputed from the segments' request logs;
acks and liveness are concatenated; collector samples keep one series per source and host (the lowest
segment's when several sampled the same system). The merged directory has every file a run writes, so
\`capacity gate\` and \`capacity report\` work on it as on one run.

Exit code: 0 when merged, 2 for bad input (not segments of one scenario, a segment missing or repeated).`,
    )
    .action(async (dirs: string[], f: MergeFlags) => {
      const out = await mergeResults({
        dirs,
        out: f.out,
        allowPartial: f.allowPartial,
        log: (m) => process.stderr.write(`[merge] ${m}\n`),
      });
      for (const w of out.warnings) process.stderr.write(`[merge] warning: ${w}\n`);
      console.log(formatSummary(out.summary));
      console.log(`results: ${out.dir}`);
    });
}
