// The sizing model's public face: config (+ overrides) -> VM summary per summary date.
import { UserError } from '../../core/errors.ts';
import { formatFigure, formatVmTable, type PrintStyle } from '../../topology/vm-table.ts';
import type { SizingConfig } from './config.ts';
import { runModel, summarizeMonth, type MonthSummary } from './model.ts';
import { applyOverrides, type AppliedOverride, type SizingOverrides } from './overrides.ts';

export { readSizingConfig, parseSizingConfig, type SizingConfig } from './config.ts';
export {
  applyOverrides,
  capacityFromCpuCost,
  PERIOD_SECONDS,
  type SizingOverride,
  type SizingOverrides,
  type AppliedOverride,
} from './overrides.ts';
export type { MonthSummary, ServiceSummary } from './model.ts';

export interface SizingResult {
  file: string;
  /** The combination of sets used, when the config has sets. */
  set?: string;
  storageUnit: string;
  /** Every month the usage covers. */
  months: string[];
  summaries: MonthSummary[];
  applied: AppliedOverride[];
  ignored: string[];
  /** What the resource model accepts but looks wrong: duplicate keys, a low ram_model. */
  warnings: string[];
}

export interface SummaryOptions {
  /** Summarise at these months ("YYYY-MM") instead of the config's summary_dates. */
  dates?: string[];
}

/**
 * The VM summary for each summary date (the config's summary_dates, else the last month modelled), after
 * applying `overrides` (e.g. per-unit costs measured by a calibration run) to a copy of the config.
 */
export function computeVmSummary(config: SizingConfig, overrides?: SizingOverrides, options: SummaryOptions = {}): SizingResult {
  const { config: effective, applied } = applyOverrides(config, overrides);
  const run = runModel(effective);
  const dates = options.dates?.length
    ? options.dates
    : effective.summary_dates.length
      ? effective.summary_dates
      : [run.usage.months[run.usage.months.length - 1]!];
  for (const d of dates) if (!/^\d{4}-\d{2}$/.test(d)) throw new UserError(`date must be YYYY-MM, not "${d}"`);
  const result: SizingResult = {
    file: effective.file,
    storageUnit: effective.storage_display_unit,
    months: run.usage.months,
    summaries: dates.map((d) => summarizeMonth(effective, run, d)),
    applied,
    ignored: effective.ignored,
    warnings: effective.warnings,
  };
  if (effective.set_name !== undefined) result.set = effective.set_name;
  return result;
}

/**
 * One line per set at `month` (the config's sets_summary_date): users, VMs, cores, RAM and storage, the figures
 * run_model.py compares across sets.
 */
export function formatSetsComparison(results: readonly SizingResult[], month: string): string {
  const out = [`Sets compared at ${month}:`];
  for (const r of results) {
    const s = r.summaries.find((x) => x.month === month);
    if (!s)
      throw new UserError(`${r.file}: sets_summary_date ${month} is not a summary date (${r.summaries.map((x) => x.month).join(', ')})`);
    const t = s.totals;
    out.push(
      `  ${r.set ?? '(default)'}: ${s.users === undefined ? '' : `${formatFigure(s.users)} users, `}${t.vms} VMs, ${formatFigure(t.cores)} cores, ${formatFigure(t.ramGb)} GB RAM, ${formatFigure(t.storageTotal)} ${r.storageUnit} data storage`,
    );
  }
  return out.join('\n') + '\n';
}

/** The plan as text: per date a heading, the VM summary in the seed's table format, totals and storage. */
export function formatPlan(result: SizingResult, style: PrintStyle = 'seed'): string {
  const out: string[] = [];
  for (const s of result.summaries) {
    out.push(`${s.month}${s.users !== undefined ? ` — ${formatFigure(s.users)} users` : ''}`, '');
    if (s.vmRows.length) out.push(formatVmTable(s.vmRows, style).trimEnd());
    else out.push('(no service needs a VM)');
    const t = s.totals;
    out.push(
      '',
      `Total: ${t.vms} VMs, ${formatFigure(t.cores)} cores, ${formatFigure(t.ramGb)} GB RAM, ${formatFigure(t.storageTotal)} ${result.storageUnit} data storage, ${formatFigure(t.osStorageGb)} GB OS disks`,
      `Storage by group (${result.storageUnit}): ${Object.entries(s.storageByGroup)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([g, v]) => `${g} ${formatFigure(v)}`)
        .join(', ')}`,
    );
    if (s.storageOnly.length) {
      out.push(
        `Storage without VMs (${result.storageUnit}): ${s.storageOnly.map((x) => `${x.name} ${formatFigure(x.storageTotal)}`).join(', ')}`,
      );
    }
    out.push('');
  }
  if (result.applied.length) {
    out.push('Overrides:');
    for (const a of result.applied)
      out.push(
        `  ${a.path}: ${a.from === undefined ? '(none)' : formatFigure(a.from)} -> ${formatFigure(a.to)}${a.source ? `  [${a.source}]` : ''}`,
      );
    out.push('');
  }
  if (result.ignored.length) out.push(`Not modelled (ignored): ${result.ignored.join(', ')}`, '');
  return out.join('\n');
}
