import type { Command } from 'commander';
import { runGate } from '../../gates/gate.ts';

interface GateFlags {
  baseline: string;
  junit?: string;
  tolerance?: string[];
}

export function register(program: Command): void {
  program
    .command('gate')
    .description('compare a run with a stored baseline: throughput, latency per endpoint, error rate, pillow lag, data liveness')
    .argument('<results-dir>', 'a results directory written by `capacity run` (or `capacity merge`)')
    .requiredOption('--baseline <file>', 'baseline JSON written by `capacity baseline save`')
    .option('--junit <file>', 'also write JUnit XML: one testcase per metric, a failure per regression')
    .option(
      '--tolerance <metric=pct[:abs],...>',
      'override tolerances, e.g. latency.*.p95=50,error_rate=100:0.01 (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .addHelpText(
      'after',
      `
A metric regresses when it moves in its worse direction (higher latency, error rate, lag, liveness; lower
throughput) by more than its tolerance: both the percentage of the baseline and the absolute floor.
Defaults: throughput 10 % (0.2/s), p50 30 % (15 ms), p95 50 % (40 ms), p99 100 % (100 ms), error rate
100 % (0.5 points), pillow offset lag 100 % (200 messages), time lag 100 % (5 s), liveness p50 50 % (1 s),
p95 50 % (2 s), never searchable 5 points. A baseline may carry its own tolerances; --tolerance wins.

Exit code: 0 when nothing regressed, 1 on a regression (or a failed run), 2 for bad input.`,
    )
    .action((dir: string, f: GateFlags) => {
      const out = runGate({ resultsDir: dir, baselineFile: f.baseline, junitFile: f.junit, tolerances: f.tolerance });
      console.log(out.text);
      if (f.junit) console.log(`JUnit: ${f.junit}`);
      process.exitCode = out.exitCode;
    });
}
