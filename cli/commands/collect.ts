import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { collect } from '../../collectors/collect.ts';
import { requirePositiveDuration } from '../../core/duration.ts';

export function register(program: Command): void {
  program
    .command('collect')
    .description(
      'watch every tier (hosts, PostgreSQL, pillow lag, Kafka, Elasticsearch, RabbitMQ, Redis, nginx) without load; samples to <out>/samples.ndjson',
    )
    .option('--topology <file>', 'hosts and services to watch (default: the local stack)')
    .option('--duration <d>', 'how long to watch (default 60s)', (v: string) => requirePositiveDuration(v, '--duration'), 60_000)
    .option('--interval <d>', 'time between samples (default 5s)', (v: string) => requirePositiveDuration(v, '--interval'), 5_000)
    .option('--out <dir>', 'results directory (default results/collect-<time>)')
    .action(async (opts: { topology?: string; duration: number; interval: number; out?: string }) => {
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        const res = await collect({
          topology: opts.topology,
          durationMs: opts.duration,
          intervalMs: opts.interval,
          outDir: opts.out,
          signal: ac.signal,
        });
        if (res.stats.readings > 0 && res.stats.failedReadings === res.stats.readings) {
          throw new UserError('no source could be read: every reading is a gap', 1);
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
