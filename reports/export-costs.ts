// Per-unit costs of exports (the celery, rabbitmq and redis rows), measured like the rest of the calibration: ratios
// of what the collectors saw over the samples' window. Exports and their rows come from the HQ-compatible service's
// totals in Redis (local_store exports_done, exported_rows); CPU from the process collector (celery workers,
// RabbitMQ, Redis); messages from RabbitMQ's management rates; operations from Redis's INFO rates. Costs measured on
// the stand-in are the stand-in's. A figure that cannot be measured is undefined with the reason.
import { increase, integrate, type LoadedResults, type Series } from '../results-dir/index.ts';
import type { UnitCost } from './calibrate.ts';

export const EXPORT_COST_KEYS = [
  'celery_cpu_per_exported_row',
  'celery_cpu_per_export',
  'rows_per_export',
  'rabbitmq_messages_per_export',
  'rabbitmq_cpu_per_export',
  'redis_ops_per_export',
  'redis_cpu_per_export',
] as const;

const fmt = (n: number) => (Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString());

/** Increase of a counter over [fromMs, toMs], summed over series (resets count from zero). */
function windowIncrease(series: readonly Series[], fromMs: number, toMs: number): number | undefined {
  let total: number | undefined;
  for (const s of series) {
    const v = s.v.filter((_, i) => s.t[i]! >= fromMs && s.t[i]! <= toMs);
    if (v.length < 2) continue;
    total = (total ?? 0) + increase(v);
  }
  return total;
}

/** Events from a per-second rate over [fromMs, toMs], summed over series. */
function windowEvents(series: readonly Series[], fromMs: number, toMs: number): number | undefined {
  let total: number | undefined;
  for (const s of series) {
    const idx = s.t.map((t, i) => [t, i] as const).filter(([t]) => t >= fromMs && t <= toMs);
    if (idx.length < 2) continue;
    total =
      (total ?? 0) +
      integrate(
        idx.map(([t]) => t),
        idx.map(([, i]) => s.v[i]!),
      );
  }
  return total;
}

export function exportCosts(results: LoadedResults): UnitCost[] {
  const { samples } = results;
  const fromMs = samples.firstMs;
  const toMs = samples.lastMs;
  const out: UnitCost[] = [];
  const add = (key: (typeof EXPORT_COST_KEYS)[number], label: string, unit: string, value: number | undefined, basis: string) => {
    const c: UnitCost = { key, label, unit, basis };
    if (value !== undefined && Number.isFinite(value)) c.value = value;
    out.push(c);
  };
  const exports = windowIncrease(samples.get('local_store', 'exports_done'), fromMs, toMs);
  const rows = windowIncrease(samples.get('local_store', 'exported_rows'), fromMs, toMs);
  const none =
    exports === undefined
      ? 'no export totals in the samples (local_store exports_done: local stack)'
      : exports === 0
        ? 'no export finished in the window'
        : undefined;
  const cpu = (service: string) => windowIncrease(samples.get('process', 'cpu_seconds', { service }), fromMs, toMs);
  const per = (value: number | undefined, what: string, basis: () => string): [number | undefined, string] =>
    none ? [undefined, none] : value === undefined ? [undefined, `no ${what} samples`] : [value / exports!, basis()];

  const celery = cpu('celery');
  const processes = [...new Set(samples.get('process', 'cpu_seconds', { service: 'celery' }).map((s) => s.labels.process))].length;
  add(
    'celery_cpu_per_exported_row',
    'Celery CPU per exported row',
    'CPU s',
    !none && celery !== undefined && rows ? celery / rows : undefined,
    none ??
      (celery === undefined
        ? 'no celery worker CPU samples'
        : !rows
          ? 'no rows exported'
          : `${fmt(celery)} CPU s (${processes} celery workers, with the child processes their pools start in place of retired ones) / ${fmt(rows)} rows exported`),
  );
  add(
    'celery_cpu_per_export',
    'Celery CPU per export',
    'CPU s',
    ...per(celery, 'celery CPU', () => `${fmt(celery!)} CPU s / ${fmt(exports!)} exports`),
  );
  add('rows_per_export', 'Rows per export', 'rows', ...per(rows, 'exported rows', () => `${fmt(rows!)} rows / ${fmt(exports!)} exports`));

  const published = windowEvents(samples.get('rabbitmq', 'publish_per_s'), fromMs, toMs);
  const delivered = windowEvents(samples.get('rabbitmq', 'deliver_per_s'), fromMs, toMs);
  const messages = published === undefined && delivered === undefined ? undefined : (published ?? 0) + (delivered ?? 0);
  add(
    'rabbitmq_messages_per_export',
    'RabbitMQ messages per export (published + delivered)',
    'messages',
    ...per(
      messages,
      'RabbitMQ rate',
      () => `${fmt(published ?? 0)} published + ${fmt(delivered ?? 0)} delivered / ${fmt(exports!)} exports`,
    ),
  );
  const rabbitCpu = cpu('rabbitmq');
  add(
    'rabbitmq_cpu_per_export',
    'RabbitMQ CPU per export',
    'CPU s',
    ...per(rabbitCpu, 'RabbitMQ CPU', () => `${fmt(rabbitCpu!)} CPU s / ${fmt(exports!)} exports (includes its idle cost)`),
  );

  // Redis serves the task statuses, the workers' keep-alives (one SET each per 5 s) and the collectors' own reads
  // (INFO and the export totals, per tick): those are taken off before dividing.
  const commands = windowEvents(samples.get('redis', 'commands_per_s'), fromMs, toMs);
  const ticks = samples.get('redis', 'commands_per_s')[0]?.t.filter((t) => t >= fromMs && t <= toMs).length ?? 0;
  const seconds = toMs > fromMs ? (toMs - fromMs) / 1000 : 0;
  const background = (processes * seconds) / 5 + ticks * 2;
  add(
    'redis_ops_per_export',
    'Redis operations per export',
    'ops',
    ...per(
      commands === undefined ? undefined : Math.max(0, commands - background),
      'Redis command rate',
      () => `${fmt(commands!)} commands less ${fmt(background)} keep-alives and collector reads / ${fmt(exports!)} exports`,
    ),
  );
  const redisCpu = cpu('redis');
  add(
    'redis_cpu_per_export',
    'Redis CPU per export',
    'CPU s',
    ...per(redisCpu, 'Redis CPU', () => `${fmt(redisCpu!)} CPU s / ${fmt(exports!)} exports`),
  );
  return out;
}
