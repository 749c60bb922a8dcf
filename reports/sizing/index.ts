// The sizing model's public face: config (+ overrides) -> VM summary per summary date.
import { UserError } from '../../core/errors.ts';
import { formatFigure, formatVmTable, type PrintStyle } from '../../topology/vm-table.ts';
import type { SizingConfig } from './config.ts';
import { runModel, summarizeMonth, type MonthSummary } from './model.ts';
import { applyOverrides, type AppliedOverride, type SizingOverrides } from './overrides.ts';

export { readSizingConfig, parseSizingConfig, type SizingConfig } from './config.ts';
export { applyOverrides, capacityFromCpuCost, PERIOD_SECONDS, type SizingOverride, type SizingOverrides, type AppliedOverride } from './overrides.ts';
export type { MonthSummary, ServiceSummary } from './model.ts';

export interface SizingResult {
  file: string;
  storageUnit: string;
  /** Every month the usage covers. */
  months: string[];
  summaries: MonthSummary[];
  applied: AppliedOverride[];
  ignored: string[];
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
  const dates = options.dates?.length ? options.dates : effective.summary_dates.length ? effective.summary_dates : [run.usage.months[run.usage.months.length - 1]!];
  for (const d of dates) if (!/^\d{4}-\d{2}$/.test(d)) throw new UserError(`date must be YYYY-MM, not "${d}"`);
  return {
    file: effective.file,
    storageUnit: effective.storage_display_unit,
    months: run.usage.months,
    summaries: dates.map((d) => summarizeMonth(effective, run, d)),
    applied,
    ignored: effective.ignored,
  };
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
      out.push(`Storage without VMs (${result.storageUnit}): ${s.storageOnly.map((x) => `${x.name} ${formatFigure(x.storageTotal)}`).join(', ')}`);
    }
    out.push('');
  }
  if (result.applied.length) {
    out.push('Overrides:');
    for (const a of result.applied) out.push(`  ${a.path}: ${a.from === undefined ? '(none)' : formatFigure(a.from)} -> ${formatFigure(a.to)}${a.source ? `  [${a.source}]` : ''}`);
    out.push('');
  }
  if (result.ignored.length) out.push(`Not modelled (ignored): ${result.ignored.join(', ')}`, '');
  return out.join('\n');
}
