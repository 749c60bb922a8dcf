import type { Command } from 'commander';
import { UserError } from '../errors.ts';
import { collect } from '../../collectors/collect.ts';
import { parseDuration } from '../../collectors/duration.ts';

function duration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new UserError(`${flag} must be a duration such as 500ms, 5s, 2m or 1h, not "${value}"`);
  return ms;
}

export function register(program: Command): void {
  program
    .command('collect')
    .description('watch every tier (hosts, PostgreSQL, pillow lag, Kafka, Elasticsearch, RabbitMQ, Redis, nginx) without load; samples to <out>/samples.ndjson')
    .option('--topology <file>', 'hosts and services to watch (default: the local stack)')
    .option('--duration <d>', 'how long to watch', '60s')
    .option('--interval <d>', 'time between samples', '5s')
    .option('--out <dir>', 'results directory (default results/collect-<time>)')
    .action(async (opts: { topology?: string; duration: string; interval: string; out?: string }) => {
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        const res = await collect({
          topology: opts.topology,
          durationMs: duration('--duration', opts.duration),
          intervalMs: duration('--interval', opts.interval),
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
