// One compact line per tick for `capacity collect`: the figures that say which tier is struggling.
import type { TickResult } from './sampler.ts';
import type { Sample } from './types.ts';

const fmt = (v: number | undefined, digits = 0): string => {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  return v.toFixed(digits);
};
const bytes = (v: number | undefined): string => {
  if (v === undefined) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)}${units[i]}`;
};

export function summarizeTick(tick: TickResult): string {
  const s = tick.samples;
  const pick = (source: string, metric: string, where?: (x: Sample) => boolean) =>
    s.filter((x) => x.source === source && x.metric === metric && !x.gap && (!where || where(x)));
  const sum = (source: string, metric: string, where?: (x: Sample) => boolean) => {
    const xs = pick(source, metric, where);
    return xs.length ? xs.reduce((a, x) => a + x.value, 0) : undefined;
  };
  const max = (source: string, metric: string, where?: (x: Sample) => boolean) => {
    const xs = pick(source, metric, where);
    return xs.length ? Math.max(...xs.map((x) => x.value)) : undefined;
  };
  const has = (source: string) => s.some((x) => x.source === source && !x.gap);
  const parts: string[] = [tick.ts.toISOString().slice(11, 19)];
  if (has('host')) {
    parts.push(
      `cpu ${fmt(max('host', 'cpu_busy_pct'))}% iow ${fmt(max('host', 'cpu_iowait_pct'), 1)}% mem ${fmt(max('host', 'mem_used_pct'))}%` +
        ` swap ${fmt(sum('host', 'swap_out_pages_per_s'))}/s disk ${fmt(max('host', 'disk_util_pct'))}%`,
    );
  }
  if (has('postgres')) {
    parts.push(
      `pg ${fmt(sum('postgres', 'tps'))} tps ${fmt(sum('postgres', 'rows_inserted_per_s'))} ins/s conn ${fmt(sum('postgres', 'connections_total'))}` +
        ` locks ${fmt(sum('postgres', 'waiting_locks'))} xact ${fmt(max('postgres', 'longest_xact_s'), 1)}s`,
    );
  }
  if (has('pillows')) parts.push(`pillows lag ${fmt(sum('pillows', 'offset_lag_total'))} ${fmt(max('pillows', 'time_lag_max_s'), 1)}s`);
  if (has('kafka')) {
    const groupLag = sum('kafka', 'consumer_group_lag_total');
    parts.push(`kafka in ${fmt(sum('kafka', 'messages_in_per_s'))}/s${groupLag !== undefined ? ` group lag ${fmt(groupLag)}` : ''}`);
  }
  if (has('elasticsearch')) {
    parts.push(
      `es idx ${fmt(sum('elasticsearch', 'indexing_per_s'))}/s q ${fmt(sum('elasticsearch', 'search_per_s'))}/s` +
        ` heap ${fmt(max('elasticsearch', 'heap_used_pct'))}% rej ${fmt(sum('elasticsearch', 'threadpool_rejected_per_s'))}/s`,
    );
  }
  if (has('rabbitmq')) parts.push(`rabbit ${fmt(sum('rabbitmq', 'messages'))} msgs`);
  if (has('redis')) parts.push(`redis ${fmt(sum('redis', 'commands_per_s'))} ops/s ${bytes(sum('redis', 'used_memory_bytes'))}`);
  if (has('nginx')) parts.push(`nginx ${fmt(sum('nginx', 'requests_per_s'))} req/s ${fmt(sum('nginx', 'active_connections'))} conn`);
  const gaps = s.filter((x) => x.gap);
  if (gaps.length) {
    const shown = gaps
      .slice(0, 3)
      .map((g) => `${g.labels.collector ?? g.source}${g.labels.part ? `/${g.labels.part}` : ''}: ${(g.error ?? '').slice(0, 70)}`);
    parts.push(`GAP ${shown.join('; ')}${gaps.length > 3 ? `; +${gaps.length - 3} more` : ''}`);
  }
  if (tick.skipped.length) parts.push(`busy ${tick.skipped.length > 3 ? `${tick.skipped.length} collectors` : tick.skipped.join(',')}`);
  return parts.join(' | ');
}
